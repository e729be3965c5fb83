import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { type PropertyContext, propertiesLength, writeProperties } from './properties.js';
import { binaryLength, checkU16, encodeError, stringLength, variableByteIntegerLength, Writer } from './writer.js';

/** Allocates the packet at its exact size and writes the fixed header. */
function start(first: number, remaining: number): Writer {
  const w = new Writer(Buffer.allocUnsafe(1 + variableByteIntegerLength(remaining) + remaining));
  w.u8(first);
  w.varint(remaining);
  return w;
}

function checkPacketId(id: number | undefined, what: string): number {
  if (id === undefined || id === 0) encodeError(`${what} needs a packetId in 1..65535`);
  return checkU16(id, `${what} packetId`);
}

function checkQos(qos: number, what: string): void {
  if (qos !== 0 && qos !== 1 && qos !== 2) encodeError(`${what} QoS must be 0, 1 or 2, got ${qos}`);
}

function props(p: object | undefined, ctx: PropertyContext, v: ProtocolVersion): number {
  return v === 5 ? propertiesLength(p, ctx) : -1;
}

/** Size of a property list with its length prefix; 0 on v4 (`n` is -1). */
function withPrefix(n: number): number {
  return n < 0 ? 0 : variableByteIntegerLength(n) + n;
}

function writeProps(w: Writer, n: number, p: object | undefined, ctx: PropertyContext): void {
  if (n < 0) return;
  w.varint(n);
  writeProperties(w, p, ctx);
}

function publishPropertiesLength(p: PublishPacket, v: ProtocolVersion): number {
  if (v !== 5) return -1;
  return p.properties !== undefined ? propertiesLength(p.properties, 'publish') : 0;
}

/**
 * Bytes a PUBLISH takes on the wire (a QoS > 0 packet id counted), computed without encoding it: what a client
 * compares with the server's Maximum Packet Size before it queues the message.
 */
export function publishPacketSize(p: PublishPacket, v: ProtocolVersion): number {
  const remaining =
    stringLength(p.topic) + (p.qos > 0 ? 2 : 0) + withPrefix(publishPropertiesLength(p, v)) + p.payload.length;
  return 1 + variableByteIntegerLength(remaining) + remaining;
}

function encodePublish(p: PublishPacket, v: ProtocolVersion): Buffer {
  checkQos(p.qos, 'PUBLISH');
  if (p.dup && p.qos === 0) encodeError('PUBLISH DUP must not be set on QoS 0');
  const topicLen = stringLength(p.topic);
  if (topicLen === 2 && (v === 4 || p.properties?.topicAlias === undefined)) {
    encodeError('PUBLISH topic is empty and there is no topic alias');
  }
  if (p.topic.includes('+') || p.topic.includes('#')) encodeError(`PUBLISH topic "${p.topic}" contains a wildcard`);
  if (!(p.payload instanceof Uint8Array)) encodeError('PUBLISH payload must be a Buffer');
  const pl = publishPropertiesLength(p, v);
  const remaining = topicLen + (p.qos > 0 ? 2 : 0) + withPrefix(pl) + p.payload.length;
  const w = start(0x30 | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0), remaining);
  w.string(p.topic, topicLen - 2);
  if (p.qos > 0) w.u16(checkPacketId(p.packetId, 'PUBLISH'));
  writeProps(w, pl, p.properties, 'publish');
  w.bytes(p.payload);
  return w.buf;
}

function encodeConnect(p: ConnectPacket, v: ProtocolVersion): Buffer {
  const version = p.protocolVersion ?? v;
  if (version !== 4 && version !== 5) encodeError(`CONNECT protocolVersion must be 4 or 5`);
  const will = p.will;
  if (will) {
    checkQos(will.qos, 'will');
    if (will.topic.length === 0 || will.topic.includes('+') || will.topic.includes('#')) {
      encodeError(`will topic "${will.topic}" is not a valid topic name`);
    }
  }
  if (version === 4 && p.password !== undefined && p.username === undefined) {
    encodeError('MQTT 3.1.1 does not allow a password without a username');
  }
  const cp = props(p.properties, 'connect', version);
  const wp = will ? props(will.properties, 'will', version) : -1;
  let remaining = 6 + 1 + 1 + 2 + withPrefix(cp) + stringLength(p.clientId);
  if (will) remaining += withPrefix(wp) + stringLength(will.topic) + binaryLength(will.payload);
  if (p.username !== undefined) remaining += stringLength(p.username);
  if (p.password !== undefined) remaining += binaryLength(p.password);
  const w = start(0x10, remaining);
  w.string('MQTT', 4);
  w.u8(version);
  let flags = p.cleanStart ? 0x02 : 0;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  w.u8(flags);
  w.u16(checkU16(p.keepalive, 'keepalive'));
  writeProps(w, cp, p.properties, 'connect');
  w.string(p.clientId, stringLength(p.clientId) - 2);
  if (will) {
    writeProps(w, wp, will.properties, 'will');
    w.string(will.topic, stringLength(will.topic) - 2);
    w.binary(will.payload);
  }
  if (p.username !== undefined) w.string(p.username, stringLength(p.username) - 2);
  if (p.password !== undefined) w.binary(p.password);
  return w.buf;
}

function encodeConnack(p: ConnackPacket, v: ProtocolVersion): Buffer {
  if (!Number.isInteger(p.reasonCode) || p.reasonCode < 0 || p.reasonCode > (v === 4 ? 5 : 0xff)) {
    encodeError(`CONNACK code ${p.reasonCode} is not valid`);
  }
  const pl = props(p.properties, 'connack', v);
  const w = start(0x20, 2 + withPrefix(pl));
  w.u8(p.sessionPresent ? 1 : 0);
  w.u8(p.reasonCode);
  writeProps(w, pl, p.properties, 'connack');
  return w.buf;
}

/** PUBACK/PUBREC/PUBREL/PUBCOMP, and DISCONNECT/AUTH when `packetId` is undefined. */
function encodeAckLike(
  first: number,
  packetId: number | undefined,
  code: number | undefined,
  p: object | undefined,
  ctx: PropertyContext,
  v: ProtocolVersion,
): Buffer {
  const idLen = packetId === undefined ? 0 : 2;
  if (v === 4) {
    const w = start(first, idLen);
    if (packetId !== undefined) w.u16(packetId);
    return w.buf;
  }
  const reasonCode = code ?? 0;
  if (!Number.isInteger(reasonCode) || reasonCode < 0 || reasonCode > 0xff) encodeError(`bad reason code ${code}`);
  const pl = propertiesLength(p, ctx);
  const tail = pl > 0 ? 1 + withPrefix(pl) : reasonCode !== 0 ? 1 : 0;
  const w = start(first, idLen + tail);
  if (packetId !== undefined) w.u16(packetId);
  if (tail > 0) w.u8(reasonCode);
  if (pl > 0) writeProps(w, pl, p, ctx);
  return w.buf;
}

function encodeSubscribe(p: SubscribePacket, v: ProtocolVersion): Buffer {
  if (p.subscriptions.length === 0) encodeError('SUBSCRIBE needs at least one subscription');
  const pl = props(p.properties, 'subscribe', v);
  let remaining = 2 + withPrefix(pl);
  for (const s of p.subscriptions) {
    checkQos(s.qos, 'subscription');
    if (s.topicFilter.length === 0) encodeError('empty topic filter');
    if (v === 5 && s.retainHandling !== undefined && ![0, 1, 2].includes(s.retainHandling)) {
      encodeError(`retainHandling must be 0, 1 or 2, got ${s.retainHandling}`);
    }
    remaining += stringLength(s.topicFilter) + 1;
  }
  const w = start(0x82, remaining);
  w.u16(checkPacketId(p.packetId, 'SUBSCRIBE'));
  writeProps(w, pl, p.properties, 'subscribe');
  for (const s of p.subscriptions) {
    w.string(s.topicFilter, stringLength(s.topicFilter) - 2);
    let options = s.qos;
    if (v === 5) {
      options |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | ((s.retainHandling ?? 0) << 4);
    }
    w.u8(options);
  }
  return w.buf;
}

function encodeUnsubscribe(p: UnsubscribePacket, v: ProtocolVersion): Buffer {
  if (p.topicFilters.length === 0) encodeError('UNSUBSCRIBE needs at least one topic filter');
  const pl = props(p.properties, 'unsubscribe', v);
  let remaining = 2 + withPrefix(pl);
  for (const f of p.topicFilters) {
    if (f.length === 0) encodeError('empty topic filter');
    remaining += stringLength(f);
  }
  const w = start(0xa2, remaining);
  w.u16(checkPacketId(p.packetId, 'UNSUBSCRIBE'));
  writeProps(w, pl, p.properties, 'unsubscribe');
  for (const f of p.topicFilters) w.string(f, stringLength(f) - 2);
  return w.buf;
}

function encodeCodeList(first: number, p: SubackPacket | UnsubackPacket, v: ProtocolVersion): Buffer {
  const codes = v === 4 && p.type === 'unsuback' ? [] : p.reasonCodes;
  if (codes.length === 0 && (p.type === 'suback' || v === 5)) encodeError(`${p.type} needs at least one reason code`);
  for (const c of codes) if (!Number.isInteger(c) || c < 0 || c > 0xff) encodeError(`bad reason code ${c}`);
  const pl = props(p.properties, 'ack', v);
  const w = start(first, 2 + withPrefix(pl) + codes.length);
  w.u16(checkPacketId(p.packetId, p.type.toUpperCase()));
  writeProps(w, pl, p.properties, 'ack');
  for (const c of codes) w.u8(c);
  return w.buf;
}

const PINGREQ = Buffer.from([0xc0, 0]);
const PINGRESP = Buffer.from([0xd0, 0]);
/** First byte (type and required flags) of the four publish acknowledgements. */
const ACK_FIRST_BYTE = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/**
 * Encodes one packet for `protocolVersion` into a Buffer of its exact size (PINGREQ/PINGRESP share one preallocated Buffer; do not mutate results). On 3.1.1 the MQTT 5
 * only fields (properties, ack reason codes) are ignored. Throws `MqttProtocolError` (0x81) for a
 * packet that cannot be encoded validly (missing packetId, string over 65535 bytes, ...).
 */
export function encodePacket(packet: Packet, protocolVersion: ProtocolVersion): Buffer {
  const v = protocolVersion;
  if (v !== 4 && v !== 5) encodeError(`protocolVersion must be 4 or 5, got ${String(v)}`);
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, v);
    case 'connect':
      return encodeConnect(packet, v);
    case 'connack':
      return encodeConnack(packet, v);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const first = ACK_FIRST_BYTE[packet.type];
      const packetId = checkPacketId(packet.packetId, packet.type.toUpperCase());
      return encodeAckLike(first, packetId, packet.reasonCode, packet.properties, 'ack', v);
    }
    case 'subscribe':
      return encodeSubscribe(packet, v);
    case 'suback':
      return encodeCodeList(0x90, packet, v);
    case 'unsubscribe':
      return encodeUnsubscribe(packet, v);
    case 'unsuback':
      return encodeCodeList(0xb0, packet, v);
    case 'pingreq':
      return Buffer.from(PINGREQ);
    case 'pingresp':
      return Buffer.from(PINGRESP);
    case 'disconnect':
      return encodeAckLike(0xe0, undefined, packet.reasonCode, packet.properties, 'disconnect', v);
    case 'auth':
      if (v === 4) encodeError('AUTH does not exist in MQTT 3.1.1');
      return encodeAckLike(0xf0, undefined, packet.reasonCode, packet.properties, 'auth', v);
    default:
      return encodeError(`unknown packet type ${String((packet as { type: unknown }).type)}`);
  }
}
