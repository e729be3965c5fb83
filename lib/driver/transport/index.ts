import { MqttConnectError } from '../errors.js';
import { validateTopicName } from '../topic.js';
import type { MqttClientOptions, MqttTransportStream } from '../types.js';
import { openTcp } from './tcp.js';
import { openWebSocket } from './websocket.js';

export { answerAuth, authConnectProperties, checkAuthSuccess, Reauthentication } from '../auth.js';
export { connectErrorFrom, isPermanentTransportError } from './errors.js';
export { redactUrl, takeUrlCredentials } from './url.js';

/** URL schemes `connect()` opens without a custom `transport`. */
export const SUPPORTED_SCHEMES: readonly string[] = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/**
 * Checks what can be checked before any I/O: a supported URL scheme (unless a custom `transport` is given) and
 * that enhanced authentication is only asked for on MQTT 5. Throws MqttConnectError.
 */
export function validateConnectOptions(url: URL, options: MqttClientOptions): void {
  if (!options.transport && !SUPPORTED_SCHEMES.includes(url.protocol)) {
    throw new MqttConnectError(`Unsupported URL scheme ${url.protocol}: use mqtt://, mqtts://, ws:// or wss://`);
  }
  if (options.auth && options.protocolVersion === 4) {
    throw new MqttConnectError('Enhanced authentication (options.auth) needs MQTT 5: set protocolVersion: 5');
  }
  // The will is published under these names: topic names, never filters (MQTT-4.7.0-1). MqttInvalidTopicError.
  if (options.will) validateTopicName(options.will.topic, 'Will topic');
  const willResponseTopic = options.will?.properties?.responseTopic;
  if (willResponseTopic !== undefined) validateTopicName(willResponseTopic, 'Will Response Topic');
  if (options.protocolVersion === 4 && !options.clientId && options.cleanStart === false) {
    throw new MqttConnectError(
      'MQTT 3.1.1 requires CleanSession 1 with an empty client identifier (MQTT-3.1.3-7): give a clientId to ' +
        'resume a session, or use cleanStart: true',
      { reasonCode: 2, protocolVersion: 4 },
    );
  }
}

/**
 * Opens the byte stream for one (re)connect: the `transport` option when given, else by URL scheme — TCP
 * (`mqtt://`), TLS (`mqtts://`), WebSocket (`ws://`, `wss://`).
 */
export function openTransport(url: URL, options: MqttClientOptions): Promise<MqttTransportStream> {
  if (options.transport) return options.transport(url, options);
  switch (url.protocol) {
    case 'mqtt:':
    case 'mqtts:':
      return openTcp(url, options);
    case 'ws:':
    case 'wss:':
      return openWebSocket(url, options);
    default:
      return Promise.reject(
        new MqttConnectError(`Unsupported URL scheme ${url.protocol}: use mqtt://, mqtts://, ws:// or wss://`),
      );
  }
}
