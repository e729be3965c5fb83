import type { PublishProperties } from './codec/packets.js';
import { validateTopicName } from './topic.js';

/**
 * The properties of a client PUBLISH (MQTT 5). A Subscription Identifier is what the server puts on what it
 * delivers, and a client MUST NOT send one (MQTT-3.3.4-6): it is stripped, not refused, so republishing a received
 * message with its properties (a forwarder, a responder echoing them) just works. A Response Topic is a topic name
 * (MQTT-3.3.2-14): one with a wildcard is refused with `MqttInvalidTopicError` before any I/O. Every other PUBLISH
 * property is one a client may send.
 */
export function clientPublishProperties(properties: PublishProperties | undefined): PublishProperties | undefined {
  if (properties === undefined) return undefined;
  if (properties.responseTopic !== undefined) validateTopicName(properties.responseTopic, 'Response Topic');
  if (properties.subscriptionIdentifier === undefined) return properties;
  const { subscriptionIdentifier: _, ...rest } = properties;
  return rest;
}
