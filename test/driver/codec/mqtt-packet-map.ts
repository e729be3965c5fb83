/**
 * Mapping between our `Packet` objects and mqtt-packet's shape (cmd, messageId, granted, nl/rap/rh,
 * userProperties as a record, boolean payloadFormatIndicator, subscriptionIdentifiersAvailable, ...).
 * Lossless only for what mqtt-packet can represent: user property names must be unique (mqtt-packet collapses
 * repeated names into arrays and loses interleaving order).
 */
import type { Packet, ProtocolVersion, UserProperty } from '../../../lib/driver/codec/packets.js';

// biome-ignore lint/suspicious/noExplicitAny: mqtt-packet's objects are loosely typed
type Any = any;

function propsTo(p: Any): Any {
  if (!p) return undefined;
  const out: Any = { ...p };
  if (p.userProperties) out.userProperties = Object.fromEntries(p.userProperties as UserProperty[]);
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator === 1;
  if (p.subscriptionIdentifierAvailable !== undefined) {
    out.subscriptionIdentifiersAvailable = p.subscriptionIdentifierAvailable;
    delete out.subscriptionIdentifierAvailable;
  }
  return out;
}

function propsFrom(p: Any, context: string): Any {
  if (!p || Object.keys(p).length === 0) return undefined;
  const out: Any = { ...p };
  if (p.userProperties) {
    out.userProperties = Object.entries(p.userProperties).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) => [k, String(x)]),
    );
  }
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator ? 1 : 0;
  if (p.subscriptionIdentifiersAvailable !== undefined) {
    out.subscriptionIdentifierAvailable = p.subscriptionIdentifiersAvailable;
    delete out.subscriptionIdentifiersAvailable;
  }
  if (p.subscriptionIdentifier !== undefined && context === 'publish' && !Array.isArray(p.subscriptionIdentifier)) {
    out.subscriptionIdentifier = [p.subscriptionIdentifier];
  }
  return out;
}

/** Our packet → mqtt-packet object for `generate()`. */
export function toMqttPacket(p: Packet, v: ProtocolVersion): Any {
  const q: Any = p;
  const base: Any = { cmd: p.type, properties: propsTo(q.properties) };
  switch (p.type) {
    case 'connect':
      return {
        ...base,
        protocolId: 'MQTT',
        protocolVersion: p.protocolVersion,
        clientId: p.clientId,
        clean: p.cleanStart,
        keepalive: p.keepalive,
        username: p.username,
        password: p.password,
        will: p.will && { ...p.will, properties: propsTo(p.will.properties) },
      };
    case 'connack':
      return v === 5
        ? { ...base, sessionPresent: p.sessionPresent, reasonCode: p.reasonCode }
        : { ...base, sessionPresent: p.sessionPresent, returnCode: p.reasonCode };
    case 'publish':
      return {
        ...base,
        topic: p.topic,
        payload: p.payload,
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.packetId,
      };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { ...base, messageId: p.packetId, reasonCode: p.reasonCode };
    case 'subscribe':
      return {
        ...base,
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({
          topic: s.topicFilter,
          qos: s.qos,
          nl: s.noLocal,
          rap: s.retainAsPublished,
          rh: s.retainHandling,
        })),
      };
    case 'suback':
    case 'unsuback':
      return { ...base, messageId: p.packetId, granted: p.reasonCodes };
    case 'unsubscribe':
      return { ...base, messageId: p.packetId, unsubscriptions: p.topicFilters };
    case 'disconnect':
    case 'auth':
      return { ...base, reasonCode: p.reasonCode };
    default:
      return { cmd: p.type };
  }
}

/** Drops undefined values so objects compare structurally. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, val]) => val !== undefined)) as T;
}

/** mqtt-packet parser output → our packet shape (canonical per our decoder conventions). */
export function fromMqttPacket(m: Any, v: ProtocolVersion): Packet {
  const properties = v === 5 ? propsFrom(m.properties, m.cmd) : undefined;
  switch (m.cmd) {
    case 'connect': {
      const will = m.will && clean({ ...m.will, properties: propsFrom(m.will.properties, 'will') });
      return clean({
        type: 'connect',
        protocolVersion: m.protocolVersion,
        clientId: m.clientId,
        cleanStart: m.clean,
        keepalive: m.keepalive,
        username: m.username,
        password: m.password,
        will,
        properties: m.protocolVersion === 5 ? propsFrom(m.properties, 'connect') : undefined,
      });
    }
    case 'connack':
      return clean({
        type: 'connack',
        sessionPresent: m.sessionPresent,
        reasonCode: v === 5 ? m.reasonCode : m.returnCode,
        properties,
      });
    case 'publish':
      return clean({
        type: 'publish',
        topic: m.topic,
        payload: m.payload,
        qos: m.qos,
        retain: m.retain,
        dup: m.dup,
        packetId: m.qos > 0 ? m.messageId : undefined,
        properties,
      });
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return clean({
        type: m.cmd,
        packetId: m.messageId,
        reasonCode: v === 5 ? (m.reasonCode ?? 0) : undefined,
        properties,
      });
    case 'subscribe':
      return clean({
        type: 'subscribe',
        packetId: m.messageId,
        subscriptions: m.subscriptions.map((s: Any) =>
          v === 5
            ? {
                topicFilter: s.topic,
                qos: s.qos,
                noLocal: !!s.nl,
                retainAsPublished: !!s.rap,
                retainHandling: s.rh ?? 0,
              }
            : { topicFilter: s.topic, qos: s.qos },
        ),
        properties,
      });
    case 'suback':
    case 'unsuback':
      return clean({ type: m.cmd, packetId: m.messageId, reasonCodes: m.granted ?? [], properties });
    case 'unsubscribe':
      return clean({ type: 'unsubscribe', packetId: m.messageId, topicFilters: m.unsubscriptions, properties });
    case 'disconnect':
    case 'auth':
      return clean({ type: m.cmd, reasonCode: v === 5 ? (m.reasonCode ?? 0) : undefined, properties });
    default:
      return { type: m.cmd } as Packet;
  }
}
