import type { MessageHandler } from '@nestjs/microservices';
import { type MqttMessage, type PublishProperties, type UserProperty, validateTopicName } from '../../driver/index.js';
import { MqttAsyncConfigError } from '../errors.js';
import {
  DEAD_LETTER_ATTEMPTS_PROPERTY,
  DEAD_LETTER_CORRELATION_DATA_PROPERTY,
  DEAD_LETTER_ERROR_PROPERTY,
  DEAD_LETTER_EXPIRY_PROPERTY,
  DEAD_LETTER_FIRST_FAILURE_PROPERTY,
  DEAD_LETTER_LAST_FAILURE_PROPERTY,
  DEAD_LETTER_PATTERN_PROPERTY,
  DEAD_LETTER_RESPONSE_TOPIC_PROPERTY,
  DEAD_LETTER_TOPIC_PROPERTY,
} from '../protocol.js';
import { routeMatches } from '../routing/pattern.js';
import type { MqttAsyncRouter } from '../routing/router.js';

export { MqttAsyncConfigError };

/**
 * Refuses a `deadLetterTopic` that one of the server's own handlers listens to: a message its handler keeps
 * failing on would be dead-lettered back into that handler, fail again, and loop forever (1,475 messages in 3 s).
 * @throws MqttAsyncConfigError
 */
export function checkDeadLetterTopic(topic: string | undefined, router: MqttAsyncRouter<MessageHandler>): void {
  if (topic === undefined) return;
  try {
    validateTopicName(topic);
  } catch (err) {
    throw new MqttAsyncConfigError(`deadLetterTopic '${topic}' is not a topic name: ${(err as Error).message}`);
  }
  for (const group of router.groups()) {
    const entry = group.entries.find((e) => routeMatches(e.route, topic));
    if (entry) {
      throw new MqttAsyncConfigError(
        `deadLetterTopic '${topic}' matches the handler pattern '${entry.route.pattern}': a failing message would ` +
          'loop back into it; dead-letter to a topic no handler of this service subscribes to',
      );
    }
  }
}

/** Why a message is dead-lettered: the last error, tries made (0: undecodable), first and last failure times. */
export interface DeadLetterCause {
  error: string;
  attempts: number;
  firstFailure: number;
  lastFailure: number;
  /** The handler's pattern (absent for an undecodable message). */
  pattern?: string;
}

/** Original user properties not copied: our own markers, and trace context (the dead letter carries its own). */
const NOT_COPIED = /^(nest-mqtt-async:|traceparent$|tracestate$|baggage$)/;

/**
 * The dead letter of `message` (docs/retries.md). MQTT 5: the payload unchanged; the original user properties,
 * then the cause and the original Response Topic, Correlation Data (base64) and Message Expiry Interval as user
 * properties; Content Type and Payload Format Indicator kept. MQTT 3.1.1 has no properties: the same names become
 * keys of a Nest wire envelope (`{ pattern, data }`, as 3.1.1 events are sent); any other payload is republished
 * unchanged (the cause is then only in the ERROR log line).
 */
export function deadLetterOf(
  message: MqttMessage,
  cause: DeadLetterCause,
  v5: boolean,
): { payload: Buffer | string; properties: PublishProperties } {
  const fields: UserProperty[] = [
    [DEAD_LETTER_ERROR_PROPERTY, cause.error],
    [DEAD_LETTER_TOPIC_PROPERTY, message.topic],
    [DEAD_LETTER_ATTEMPTS_PROPERTY, String(cause.attempts)],
    [DEAD_LETTER_FIRST_FAILURE_PROPERTY, new Date(cause.firstFailure).toISOString()],
    [DEAD_LETTER_LAST_FAILURE_PROPERTY, new Date(cause.lastFailure).toISOString()],
  ];
  if (cause.pattern !== undefined) fields.push([DEAD_LETTER_PATTERN_PROPERTY, cause.pattern]);
  if (!v5) return { payload: withEnvelopeKeys(message.payload, fields), properties: {} };
  const original = message.properties;
  if (original.responseTopic !== undefined) fields.push([DEAD_LETTER_RESPONSE_TOPIC_PROPERTY, original.responseTopic]);
  if (original.correlationData !== undefined) {
    fields.push([DEAD_LETTER_CORRELATION_DATA_PROPERTY, Buffer.from(original.correlationData).toString('base64')]);
  }
  if (original.messageExpiryInterval !== undefined) {
    fields.push([DEAD_LETTER_EXPIRY_PROPERTY, String(original.messageExpiryInterval)]);
  }
  const kept = (original.userProperties ?? []).filter(([name]) => !NOT_COPIED.test(name));
  const properties: PublishProperties = { userProperties: [...kept, ...fields] };
  if (original.contentType !== undefined) properties.contentType = original.contentType;
  if (original.payloadFormatIndicator !== undefined)
    properties.payloadFormatIndicator = original.payloadFormatIndicator;
  return { payload: message.payload, properties };
}

/** Adds `fields` to a 3.1.1 Nest wire envelope; any other payload is returned as it was. */
function withEnvelopeKeys(payload: Buffer, fields: UserProperty[]): Buffer | string {
  if (payload[0] !== 0x7b) return payload; // not a JSON object
  try {
    const envelope = JSON.parse(payload.toString()) as unknown;
    if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope) || !('pattern' in envelope)) {
      return payload;
    }
    return JSON.stringify({ ...envelope, ...Object.fromEntries(fields) });
  } catch {
    return payload;
  }
}
