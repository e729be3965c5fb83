import type { ProtocolVersion } from './codec/packets.js';
import { MqttConnectError } from './errors.js';

/**
 * The link closed before CONNACK. Brokers without MQTT 5 (RabbitMQ 3.x, older ones) drop a v5 CONNECT without a
 * word instead of answering 0x84, so on v5 the error says what to try.
 */
export function closedBeforeConnack(protocolVersion: ProtocolVersion): MqttConnectError {
  if (protocolVersion !== 5) return new MqttConnectError('Connection closed before CONNACK');
  return new MqttConnectError(
    'Connection closed before CONNACK: the broker may not support MQTT 5 (it dropped the v5 CONNECT); ' +
      'try protocolVersion: 4',
  );
}

export function isPermanent(code: number): boolean {
  return [0x84, 0x85, 0x86, 0x87, 0x8c, 0x90, 0x99, 0x9a, 0x01, 0x02, 0x04, 0x05].includes(code);
}

/** What a refused CONNACK means and what to do about it. */
const REFUSAL_ADVICE: Record<number, string> = {
  0x84: 'the broker does not support this MQTT version: try protocolVersion 4',
  0x85: 'the client identifier was rejected: use another clientId',
  0x86: 'bad user name or password: check username/password (or what the credentials hook returns)',
  0x87: 'not authorized: check username/password and that the broker lets this user and client connect',
  0x88: 'server unavailable: retry later',
  0x89: 'server busy: retry later',
  0x8a: 'banned by the broker',
  0x8c: 'bad authentication method: check auth.method',
  0x97: 'quota exceeded',
  0x9f: 'connection rate exceeded: slow down reconnects',
};

/** The MqttConnectError for a CONNACK failure code (an MQTT 3.1.1 return code on protocol 4). */
export function refusal(code: number, protocolVersion: 4 | 5): MqttConnectError {
  const v5 = protocolVersion === 5 ? code : [0, 0x84, 0x85, 0x88, 0x86, 0x87][code];
  const advice = v5 === undefined ? undefined : REFUSAL_ADVICE[v5];
  return new MqttConnectError(`Broker refused the connection${advice ? `: ${advice}` : ''}`, {
    reasonCode: code,
    protocolVersion,
  });
}
