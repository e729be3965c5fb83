/**
 * fast-check arbitraries for random VALID MQTT packets, already in the decoder's canonical shape
 * (see the brief's decoder conventions), so `decode(encode(p))` must deep-equal `p`.
 */
import fc from 'fast-check';
import type { Packet, ProtocolVersion, QoS, UserProperty } from '../../../lib/driver/codec/packets.js';

/** Valid UTF-8 text without U+0000 (lone surrogates are impossible with unit 'binary'). */
export const mqttString = (maxLength = 12): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength }).map((s) => s.replaceAll(String.fromCharCode(0), ''));

/** Topic name for PUBLISH/will: non-empty, no wildcards. */
export const topicName = (): fc.Arbitrary<string> =>
  mqttString(16)
    .map((s) => s.replace(/[+#]/g, ''))
    .filter((s) => s.length > 0);

const level = fc.oneof(
  fc.constant('+'),
  mqttString(6).map((s) => s.replace(/[+#/]/g, '').replace(/^\$/, '')),
);

/** Topic filter: levels of plain text or '+', optionally ending with '#'; never `$share/...`. */
export const topicFilter = (): fc.Arbitrary<string> =>
  fc
    .tuple(fc.array(level, { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
    .filter((f) => f.length > 0); // 4.7.3: a topic filter is at least one character

export const packetId = (): fc.Arbitrary<number> => fc.integer({ min: 1, max: 65535 });
export const qos = (): fc.Arbitrary<QoS> => fc.constantFrom<QoS>(0, 1, 2);
const u16 = fc.integer({ min: 0, max: 0xffff });
const u16nz = fc.integer({ min: 1, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u32nz = fc.integer({ min: 1, max: 0xffffffff });
const varintNz = fc.integer({ min: 1, max: 268435455 });
const bytes = (maxLength = 16) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
export const userProperties = (): fc.Arbitrary<UserProperty[]> =>
  fc.array(fc.tuple(mqttString(6), mqttString(6)), { minLength: 1, maxLength: 3 });

/** Record of optional properties; an empty record becomes `undefined` (the decoder's convention). */
function props<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T | undefined> {
  return fc
    .record(model as never, { requiredKeys: [] })
    .map((p) => (Object.keys(p as object).length === 0 ? undefined : (p as T)));
}

const messageProps = {
  payloadFormatIndicator: fc.constantFrom<0 | 1>(0, 1),
  messageExpiryInterval: u32,
  contentType: mqttString(),
  responseTopic: topicName(),
  correlationData: bytes(),
  userProperties: userProperties(),
};
const ackProps = () => props({ reasonString: mqttString(), userProperties: userProperties() });

const CONNACK_V5 = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97];
const PUBACK_V5 = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_V5 = [0x00, 0x92];
const SUBACK_V5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const UNSUBACK_V5 = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const DISCONNECT_V5 = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x9c];

function connect(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const will = fc.record(
    {
      topic: topicName(),
      payload: bytes(),
      qos: qos(),
      retain: fc.boolean(),
      properties: v === 5 ? props({ willDelayInterval: u32, ...messageProps }) : fc.constant(undefined),
    },
    { requiredKeys: ['topic', 'payload', 'qos', 'retain'] },
  );
  const connectProps = props({
    sessionExpiryInterval: u32,
    receiveMaximum: u16nz,
    maximumPacketSize: u32nz,
    topicAliasMaximum: u16,
    requestResponseInformation: fc.boolean(),
    requestProblemInformation: fc.boolean(),
    userProperties: userProperties(),
    authenticationMethod: mqttString(),
    authenticationData: bytes(),
  });
  return fc
    .record(
      {
        clientId: mqttString(23),
        cleanStart: fc.boolean(),
        keepalive: u16,
        username: mqttString(),
        password: bytes(),
        will,
        properties: v === 5 ? connectProps : fc.constant(undefined),
      },
      { requiredKeys: ['clientId', 'cleanStart', 'keepalive'] },
    )
    .map((c) => {
      const p = { type: 'connect' as const, protocolVersion: v, ...c };
      // 3.1.2.9 (v4): a password needs a user name.
      if (v === 4 && p.username === undefined) delete p.password;
      return stripUndefined(p) as Packet;
    });
}

function publish(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const publishProps = props({
    ...messageProps,
    topicAlias: u16nz,
    subscriptionIdentifier: fc.array(varintNz, { minLength: 1, maxLength: 2 }),
  });
  return fc
    .record({
      topic: topicName(),
      payload: bytes(64),
      qos: qos(),
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId: packetId(),
      properties: v === 5 ? publishProps : fc.constant(undefined),
    })
    .map((p) =>
      stripUndefined({
        type: 'publish' as const,
        ...p,
        dup: p.qos === 0 ? false : p.dup,
        packetId: p.qos === 0 ? undefined : p.packetId,
      }),
    ) as fc.Arbitrary<Packet>;
}

function ack(v: ProtocolVersion, type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'): fc.Arbitrary<Packet> {
  if (v === 4) return packetId().map((id) => ({ type, packetId: id }));
  const codes = type === 'puback' || type === 'pubrec' ? PUBACK_V5 : PUBREL_V5;
  return fc
    .record({ packetId: packetId(), reasonCode: fc.constantFrom(...codes), properties: ackProps() })
    .map((p) => stripUndefined({ type, ...p }) as Packet);
}

function subscribe(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const sub =
    v === 4
      ? fc.record({ topicFilter: topicFilter(), qos: qos() })
      : fc.record({
          topicFilter: topicFilter(),
          qos: qos(),
          noLocal: fc.boolean(),
          retainAsPublished: fc.boolean(),
          retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
        });
  const subProps = props({ subscriptionIdentifier: varintNz, userProperties: userProperties() });
  return fc
    .record({
      packetId: packetId(),
      subscriptions: fc.array(sub, { minLength: 1, maxLength: 4 }),
      properties: v === 5 ? subProps : fc.constant(undefined),
    })
    .map((p) => stripUndefined({ type: 'subscribe' as const, ...p }) as Packet);
}

function unsubscribe(v: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      packetId: packetId(),
      topicFilters: fc.array(topicFilter(), { minLength: 1, maxLength: 4 }),
      properties: v === 5 ? props({ userProperties: userProperties() }) : fc.constant(undefined),
    })
    .map((p) => stripUndefined({ type: 'unsubscribe' as const, ...p }) as Packet);
}

function codeList(v: ProtocolVersion, type: 'suback' | 'unsuback'): fc.Arbitrary<Packet> {
  if (v === 4 && type === 'unsuback') return packetId().map((id) => ({ type, packetId: id, reasonCodes: [] }));
  const codes = v === 4 ? [0x00, 0x01, 0x02, 0x80] : type === 'suback' ? SUBACK_V5 : UNSUBACK_V5;
  return fc
    .record({
      packetId: packetId(),
      reasonCodes: fc.array(fc.constantFrom(...codes), { minLength: 1, maxLength: 5 }),
      properties: v === 5 ? ackProps() : fc.constant(undefined),
    })
    .map((p) => stripUndefined({ type, ...p }) as Packet);
}

function connack(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const connackProps = props({
    sessionExpiryInterval: u32,
    receiveMaximum: u16nz,
    maximumQoS: fc.constantFrom<0 | 1>(0, 1),
    retainAvailable: fc.boolean(),
    maximumPacketSize: u32nz,
    assignedClientIdentifier: mqttString(),
    topicAliasMaximum: u16,
    reasonString: mqttString(),
    userProperties: userProperties(),
    wildcardSubscriptionAvailable: fc.boolean(),
    subscriptionIdentifierAvailable: fc.boolean(),
    sharedSubscriptionAvailable: fc.boolean(),
    serverKeepAlive: u16,
    responseInformation: mqttString(),
    serverReference: mqttString(),
    authenticationMethod: mqttString(),
    authenticationData: bytes(),
  });
  return fc
    .record({
      sessionPresent: fc.boolean(),
      reasonCode: v === 4 ? fc.integer({ min: 0, max: 5 }) : fc.constantFrom(...CONNACK_V5),
      properties: v === 5 ? connackProps : fc.constant(undefined),
    })
    .map((p) =>
      stripUndefined({ type: 'connack' as const, ...p, sessionPresent: p.reasonCode === 0 && p.sessionPresent }),
    ) as fc.Arbitrary<Packet>;
}

function disconnect(v: ProtocolVersion): fc.Arbitrary<Packet> {
  if (v === 4) return fc.constant({ type: 'disconnect' });
  const disconnectProps = props({
    sessionExpiryInterval: u32,
    reasonString: mqttString(),
    userProperties: userProperties(),
    serverReference: mqttString(),
  });
  return fc
    .record({ reasonCode: fc.constantFrom(...DISCONNECT_V5), properties: disconnectProps })
    .map((p) => stripUndefined({ type: 'disconnect' as const, ...p }) as Packet);
}

function auth(): fc.Arbitrary<Packet> {
  const authProps = props({
    authenticationMethod: mqttString(),
    authenticationData: bytes(),
    reasonString: mqttString(),
    userProperties: userProperties(),
  });
  return fc
    .record({ reasonCode: fc.constantFrom(0x00, 0x18, 0x19), properties: authProps })
    .map((p) => stripUndefined({ type: 'auth' as const, ...p }) as Packet);
}

/** Any valid packet for the given protocol version (AUTH only on v5). */
export function anyPacket(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const all = [
    connect(v),
    connack(v),
    publish(v),
    ack(v, 'puback'),
    ack(v, 'pubrec'),
    ack(v, 'pubrel'),
    ack(v, 'pubcomp'),
    subscribe(v),
    codeList(v, 'suback'),
    unsubscribe(v),
    codeList(v, 'unsuback'),
    fc.constant<Packet>({ type: 'pingreq' }),
    fc.constant<Packet>({ type: 'pingresp' }),
    disconnect(v),
  ];
  return fc.oneof(...(v === 5 ? [...all, auth()] : all));
}

export const arbitrariesByType = { connect, connack, publish, ack, subscribe, unsubscribe, codeList, disconnect, auth };

/** Drops keys whose value is undefined, recursively one level into `will`. */
export function stripUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (val === undefined) continue;
    out[k] = k === 'will' && val !== null && typeof val === 'object' ? stripUndefined(val as object) : val;
  }
  return out as T;
}
