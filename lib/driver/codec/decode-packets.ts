import { MqttProtocolError } from '../errors.js';
import type {
  AckProperties,
  ConnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubscriptionRequest,
  Will,
} from './packets.js';
import { readProperties } from './properties.js';
import { malformed, protocolError, Reader } from './reader.js';
import { ReasonCode } from './reason-codes.js';

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

const CONNACK_CODES = new Set([
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9f,
]);
const PUBACK_CODES = new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
const PUBREL_CODES = new Set([0x00, 0x92]);
const SUBACK_CODES = new Set([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);
const SUBACK_CODES_V4 = new Set([0x00, 0x01, 0x02, 0x80]);
const UNSUBACK_CODES = new Set([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]);
const DISCONNECT_CODES = new Set([
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
  0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
]);
const AUTH_CODES = new Set([0x00, 0x18, 0x19]);
const ACK_CODES: Record<AckType, Set<number>> = {
  puback: PUBACK_CODES,
  pubrec: PUBACK_CODES,
  pubrel: PUBREL_CODES,
  pubcomp: PUBREL_CODES,
};

/** Fixed-header flags each packet type must carry (section 2.1.3); PUBLISH (3) is free. */
export const REQUIRED_FLAGS = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

function reasonCode(r: Reader, allowed: Set<number>, what: string): number {
  const code = r.u8(`${what} reason code`);
  if (!allowed.has(code)) malformed(`0x${code.toString(16)} is not a valid ${what} reason code`);
  return code;
}

function packetId(r: Reader, what: string): number {
  const id = r.u16(`${what} packet identifier`);
  if (id === 0) protocolError(`${what} packet identifier must not be 0`);
  return id;
}

function checkTopicName(topic: string, what: string): void {
  if (topic.includes('+') || topic.includes('#')) {
    malformed(`${what} topic name "${topic}" contains a wildcard (4.7.1)`);
  }
}

function checkTopicFilter(filter: string, what: string): void {
  if (filter.length === 0) malformed(`${what} has an empty topic filter`);
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) malformed(`"${filter}": misplaced '#'`);
    if (level.includes('+') && level !== '+') malformed(`"${filter}": '+' must fill a whole level`);
  }
}

function decodeConnect(r: Reader): ConnectPacket {
  const name = r.string('protocol name');
  const level = r.u8('protocol level');
  if (name !== 'MQTT' || (level !== 4 && level !== 5)) {
    throw new MqttProtocolError(
      `unsupported protocol "${name}" level ${level}; only MQTT 3.1.1 (4) and 5.0 (5) are supported`,
      ReasonCode.UnsupportedProtocolVersion,
    );
  }
  const version = level as ProtocolVersion;
  const flags = r.u8('connect flags');
  if (flags & 0x01) malformed('CONNECT reserved flag bit 0 is set (3.1.2.3)');
  const hasWill = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (!hasWill && (willQos !== 0 || willRetain)) malformed('will QoS/retain set without the will flag (3.1.2.6)');
  if (willQos === 3) malformed('will QoS 3');
  if (version === 4 && hasPassword && !hasUsername) malformed('password flag set without username flag (3.1.2.9)');
  const packet: ConnectPacket = {
    type: 'connect',
    protocolVersion: version,
    clientId: '',
    cleanStart: (flags & 0x02) !== 0,
    keepalive: r.u16('keep alive'),
  };
  if (version === 5) {
    const props = readProperties(r, 'connect');
    if (props) packet.properties = props;
  }
  packet.clientId = r.string('client identifier');
  if (hasWill) {
    const properties = version === 5 ? readProperties(r, 'will') : undefined;
    const topic = r.string('will topic');
    checkTopicName(topic, 'will');
    const will: Will = { topic, payload: r.binary('will payload'), qos: willQos as QoS, retain: willRetain };
    if (properties) will.properties = properties;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.string('user name');
  if (hasPassword) packet.password = r.binary('password');
  return packet;
}

function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) malformed('PUBLISH with QoS 3 (3.3.1.2)');
  const dup = (flags & 0x08) !== 0;
  if (dup && qos === 0) malformed('PUBLISH with DUP set on QoS 0 (3.3.1.1)');
  const topic = r.string('topic name');
  checkTopicName(topic, 'PUBLISH');
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: undefined as unknown as Buffer,
    qos: qos as QoS,
    retain: (flags & 0x01) !== 0,
    dup,
  };
  if (qos > 0) packet.packetId = packetId(r, 'PUBLISH');
  if (version === 5) {
    const props = readProperties(r, 'publish');
    if (props) packet.properties = props;
    if (topic.length === 0 && props?.topicAlias === undefined) protocolError('empty topic name without a topic alias');
  } else if (topic.length === 0) malformed('empty topic name (3.3.2.1)');
  packet.payload = r.rest();
  return packet;
}

function decodeAck(r: Reader, type: AckType, version: ProtocolVersion): Packet {
  const id = packetId(r, type.toUpperCase());
  if (version === 4) {
    r.expectEnd(type);
    return { type, packetId: id };
  }
  const code = r.remaining() > 0 ? reasonCode(r, ACK_CODES[type], type.toUpperCase()) : 0;
  const props = r.remaining() > 0 ? readProperties(r, 'ack') : undefined;
  r.expectEnd(type);
  return props ? { type, packetId: id, reasonCode: code, properties: props } : { type, packetId: id, reasonCode: code };
}

function decodeSubscribe(r: Reader, version: ProtocolVersion): Packet {
  const id = packetId(r, 'SUBSCRIBE');
  const props = version === 5 ? readProperties(r, 'subscribe') : undefined;
  const subscriptions: SubscriptionRequest[] = [];
  while (r.remaining() > 0) {
    const topicFilter = r.string('topic filter');
    checkTopicFilter(topicFilter, 'SUBSCRIBE');
    const options = r.u8('subscription options');
    const qos = options & 0x03;
    if (qos === 3) malformed('subscription QoS 3 (3.8.3.1)');
    if (version === 4) {
      if (options & 0xfc) malformed('SUBSCRIBE reserved option bits set (3.8.3.1)');
      subscriptions.push({ topicFilter, qos: qos as QoS });
      continue;
    }
    if (options & 0xc0) malformed('SUBSCRIBE reserved option bits 6-7 set (3.8.3.1)');
    const retainHandling = (options >> 4) & 0x03;
    if (retainHandling === 3) protocolError('retain handling 3 (3.8.3.1: a Protocol Error)');
    const noLocal = (options & 0x04) !== 0;
    if (noLocal && topicFilter.startsWith('$share/')) protocolError('no local on a shared subscription (3.8.3.1)');
    subscriptions.push({
      topicFilter,
      qos: qos as QoS,
      noLocal,
      retainAsPublished: (options & 0x08) !== 0,
      retainHandling: retainHandling as 0 | 1 | 2,
    });
  }
  if (subscriptions.length === 0) protocolError('SUBSCRIBE without topic filters (3.8.3)');
  return props
    ? { type: 'subscribe', packetId: id, subscriptions, properties: props }
    : { type: 'subscribe', packetId: id, subscriptions };
}

function decodeUnsubscribe(r: Reader, version: ProtocolVersion): Packet {
  const id = packetId(r, 'UNSUBSCRIBE');
  const props = version === 5 ? readProperties(r, 'unsubscribe') : undefined;
  const topicFilters: string[] = [];
  while (r.remaining() > 0) {
    const filter = r.string('topic filter');
    checkTopicFilter(filter, 'UNSUBSCRIBE');
    topicFilters.push(filter);
  }
  if (topicFilters.length === 0) protocolError('UNSUBSCRIBE without topic filters (3.10.3)');
  return props
    ? { type: 'unsubscribe', packetId: id, topicFilters, properties: props }
    : { type: 'unsubscribe', packetId: id, topicFilters };
}

function decodeCodeList(
  r: Reader,
  type: 'suback' | 'unsuback',
  allowed: Set<number>,
  version: ProtocolVersion,
): Packet {
  const id = packetId(r, type.toUpperCase());
  const props = version === 5 ? (readProperties(r, 'ack') as AckProperties | undefined) : undefined;
  const reasonCodes: number[] = [];
  while (r.remaining() > 0) reasonCodes.push(reasonCode(r, allowed, type.toUpperCase()));
  if (reasonCodes.length === 0 && (type === 'suback' || version === 5)) malformed(`${type} without reason codes`);
  return props ? { type, packetId: id, reasonCodes, properties: props } : { type, packetId: id, reasonCodes };
}

function decodeConnack(r: Reader, version: ProtocolVersion): Packet {
  const flags = r.u8('connack flags');
  if (flags & 0xfe) malformed('CONNACK reserved flag bits set (3.2.2.1)');
  const sessionPresent = flags === 1;
  const code = r.u8('connack reason code');
  if (version === 4 ? code > 5 : !CONNACK_CODES.has(code)) malformed(`0x${code.toString(16)} is not a CONNACK code`);
  if (sessionPresent && code !== 0) protocolError('session present with a failure code (3.2.2.2)');
  const props = version === 5 ? readProperties(r, 'connack') : undefined;
  r.expectEnd('CONNACK');
  return props
    ? { type: 'connack', sessionPresent, reasonCode: code, properties: props }
    : { type: 'connack', sessionPresent, reasonCode: code };
}

function decodeDisconnectOrAuth(r: Reader, type: 'disconnect' | 'auth', version: ProtocolVersion): Packet {
  if (version === 4) {
    if (type === 'auth') protocolError('AUTH does not exist in MQTT 3.1.1');
    r.expectEnd('DISCONNECT');
    return { type };
  }
  const allowed = type === 'auth' ? AUTH_CODES : DISCONNECT_CODES;
  const code = r.remaining() > 0 ? reasonCode(r, allowed, type.toUpperCase()) : 0;
  const props = r.remaining() > 0 ? readProperties(r, type) : undefined;
  r.expectEnd(type);
  return props ? { type, reasonCode: code, properties: props } : { type, reasonCode: code };
}

/**
 * Decodes one packet body `buf[start, end)` whose fixed header byte was `first`.
 * Flags were checked by the caller; payloads and binary fields are views of `buf`.
 */
export function decodeBody(first: number, buf: Buffer, start: number, end: number, version: ProtocolVersion): Packet {
  const r = new Reader(buf, start, end);
  const typeCode = first >> 4;
  let packet: Packet;
  switch (typeCode) {
    case 1:
      packet = decodeConnect(r);
      break;
    case 2:
      return decodeConnack(r, version);
    case 3:
      return decodePublish(r, first & 0x0f, version);
    case 4:
      return decodeAck(r, 'puback', version);
    case 5:
      return decodeAck(r, 'pubrec', version);
    case 6:
      return decodeAck(r, 'pubrel', version);
    case 7:
      return decodeAck(r, 'pubcomp', version);
    case 8:
      packet = decodeSubscribe(r, version);
      break;
    case 9:
      return decodeCodeList(r, 'suback', version === 5 ? SUBACK_CODES : SUBACK_CODES_V4, version);
    case 10:
      packet = decodeUnsubscribe(r, version);
      break;
    case 11:
      return decodeCodeList(r, 'unsuback', UNSUBACK_CODES, version);
    case 12:
      r.expectEnd('PINGREQ');
      return { type: 'pingreq' };
    case 13:
      r.expectEnd('PINGRESP');
      return { type: 'pingresp' };
    case 14:
      return decodeDisconnectOrAuth(r, 'disconnect', version);
    case 15:
      return decodeDisconnectOrAuth(r, 'auth', version);
    default:
      return malformed('packet type 0 is reserved (2.1.2)');
  }
  r.expectEnd(packet.type.toUpperCase());
  return packet;
}
