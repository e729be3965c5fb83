import { describe, expect, it } from '@jest/globals';
import { encodePacket, type Packet, PacketDecoder, type ProtocolVersion } from '../../../lib/driver/codec/index.js';

function decodeAll(bytes: Buffer, v: ProtocolVersion, chunk = bytes.length): Packet[] {
  const d = new PacketDecoder({ protocolVersion: v });
  const out: Packet[] = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...d.push(bytes.subarray(i, i + chunk)));
  return out;
}

function roundTrip(p: Packet, v: ProtocolVersion, expected: Packet = p): void {
  const bytes = encodePacket(p, v);
  expect(decodeAll(bytes, v)).toEqual([expected]);
  expect(decodeAll(bytes, v, 1)).toEqual([expected]);
}

const b = (s: string) => Buffer.from(s);

const BOTH: Packet[] = [
  { type: 'connect', protocolVersion: 4, clientId: 'c', cleanStart: true, keepalive: 30 },
  { type: 'connack', sessionPresent: true, reasonCode: 0 },
  { type: 'publish', topic: 'a/b', payload: b('x'), qos: 0, retain: true, dup: false },
  { type: 'publish', topic: 'a/b', payload: b('hello'), qos: 2, retain: false, dup: true, packetId: 65_535 },
  { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/#', qos: 1 }] },
  { type: 'suback', packetId: 1, reasonCodes: [0, 1, 2, 0x80] },
  { type: 'unsubscribe', packetId: 2, topicFilters: ['a/+', 'b'] },
  { type: 'pingreq' },
  { type: 'pingresp' },
];

describe('round trip MQTT 3.1.1', () => {
  for (const p of BOTH) it(`${p.type}`, () => roundTrip(p, 4));
  it('connect with will and credentials', () =>
    roundTrip(
      {
        type: 'connect',
        protocolVersion: 4,
        clientId: 'dev-1',
        cleanStart: false,
        keepalive: 0,
        username: 'u',
        password: b('p'),
        will: { topic: 'status', payload: b('gone'), qos: 2, retain: true },
      },
      4,
    ));
  for (const type of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
    it(`${type} drops v5 fields`, () => {
      const bytes = encodePacket({ type, packetId: 9, reasonCode: 0x80, properties: { reasonString: 'no' } }, 4);
      expect(bytes.length).toBe(4);
      expect(decodeAll(bytes, 4)).toEqual([{ type, packetId: 9 }]);
    });
  }
  it('unsuback has no reason codes', () =>
    roundTrip({ type: 'unsuback', packetId: 3, reasonCodes: [0x11] }, 4, {
      type: 'unsuback',
      packetId: 3,
      reasonCodes: [],
    }));
  it('disconnect is two bytes', () =>
    expect(encodePacket({ type: 'disconnect', reasonCode: 0x8b }, 4)).toEqual(Buffer.from([0xe0, 0])));
});

describe('round trip MQTT 5.0', () => {
  for (const p of BOTH) {
    if (p.type === 'connect' || p.type === 'subscribe') continue;
    it(`${p.type}`, () => roundTrip(p, 5));
  }
  it('connect with every connect and will property', () =>
    roundTrip(
      {
        type: 'connect',
        protocolVersion: 5,
        clientId: 'c5',
        cleanStart: true,
        keepalive: 60,
        username: 'u',
        password: b('p'),
        properties: {
          sessionExpiryInterval: 3600,
          receiveMaximum: 10,
          maximumPacketSize: 1_000_000,
          topicAliasMaximum: 5,
          requestResponseInformation: true,
          requestProblemInformation: false,
          userProperties: [
            ['a', '1'],
            ['a', '2'],
          ],
          authenticationMethod: 'SCRAM',
          authenticationData: b('d'),
        },
        will: {
          topic: 'w',
          payload: b('bye'),
          qos: 1,
          retain: false,
          properties: {
            willDelayInterval: 5,
            payloadFormatIndicator: 1,
            messageExpiryInterval: 9,
            contentType: 'text/plain',
            responseTopic: 'r',
            correlationData: b('id'),
            userProperties: [['x', 'y']],
          },
        },
      },
      5,
    ));
  it('a v5 CONNECT decodes as v5 on a decoder built for v4 and switches it', () => {
    const d = new PacketDecoder({ protocolVersion: 4 });
    d.push(encodePacket({ type: 'connect', protocolVersion: 5, clientId: 'c', cleanStart: true, keepalive: 1 }, 5));
    expect(d.protocolVersion).toBe(5);
  });
  it('connack with properties', () =>
    roundTrip(
      {
        type: 'connack',
        sessionPresent: false,
        reasonCode: 0x87,
        properties: {
          maximumQoS: 1,
          retainAvailable: false,
          assignedClientIdentifier: 'auto-1',
          serverKeepAlive: 20,
          wildcardSubscriptionAvailable: true,
          subscriptionIdentifierAvailable: false,
          sharedSubscriptionAvailable: true,
          responseInformation: 'resp/',
          serverReference: 'other',
          reasonString: 'nope',
        },
      },
      5,
    ));
  it('publish with every publish property', () =>
    roundTrip(
      {
        type: 'publish',
        topic: 't/é',
        payload: b('{}'),
        qos: 1,
        retain: false,
        dup: false,
        packetId: 5,
        properties: {
          payloadFormatIndicator: 1,
          messageExpiryInterval: 100,
          topicAlias: 3,
          responseTopic: 'reply',
          correlationData: b('c'),
          userProperties: [
            ['k', 'v'],
            ['k', 'v'],
          ],
          contentType: 'application/json',
          subscriptionIdentifier: [1, 268_435_455],
        },
      },
      5,
    ));
  for (const type of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
    it(`${type} success is the 2-byte short form and decodes with reasonCode 0`, () => {
      const bytes = encodePacket({ type, packetId: 9 }, 5);
      expect(bytes.length).toBe(4);
      expect(decodeAll(bytes, 5)).toEqual([{ type, packetId: 9, reasonCode: 0 }]);
    });
  }
  it('pubrec with reason code and properties', () =>
    roundTrip(
      {
        type: 'pubrec',
        packetId: 1,
        reasonCode: 0x97,
        properties: { reasonString: 'quota', userProperties: [['a', 'b']] },
      },
      5,
    ));
  it('pubcomp with reason code only', () => roundTrip({ type: 'pubcomp', packetId: 1, reasonCode: 0x92 }, 5));
  it('subscribe with options and identifier', () =>
    roundTrip(
      {
        type: 'subscribe',
        packetId: 7,
        subscriptions: [
          { topicFilter: 'a/+', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 },
          { topicFilter: '$share/g/b', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
        properties: { subscriptionIdentifier: 42, userProperties: [['s', '1']] },
      },
      5,
    ));
  it('subscribe decodes the v5 option defaults', () =>
    roundTrip({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/#', qos: 1 }] }, 5, {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topicFilter: 'a/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    }));
  it('unsubscribe with user properties', () =>
    roundTrip(
      { type: 'unsubscribe', packetId: 8, topicFilters: ['x'], properties: { userProperties: [['u', 'v']] } },
      5,
    ));
  it('unsuback with reason codes', () => roundTrip({ type: 'unsuback', packetId: 8, reasonCodes: [0, 0x11, 0x87] }, 5));
  it('disconnect short form and with properties', () => {
    expect(encodePacket({ type: 'disconnect' }, 5)).toEqual(Buffer.from([0xe0, 0]));
    roundTrip({ type: 'disconnect' }, 5, { type: 'disconnect', reasonCode: 0 });
    roundTrip(
      {
        type: 'disconnect',
        reasonCode: 0x8b,
        properties: { reasonString: 'bye', sessionExpiryInterval: 0, serverReference: 's' },
      },
      5,
    );
  });
  it('auth', () =>
    roundTrip(
      { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm', authenticationData: b('x') } },
      5,
    ));
  it('several packets in one chunk and split anywhere', () => {
    const packets: Packet[] = [
      { type: 'publish', topic: 'a', payload: b('1'), qos: 1, retain: false, dup: false, packetId: 1 },
      { type: 'puback', packetId: 1, reasonCode: 0 },
      { type: 'pingresp' },
    ];
    const stream = Buffer.concat(packets.map((p) => encodePacket(p, 5)));
    for (let chunk = 1; chunk <= stream.length; chunk++) expect(decodeAll(stream, 5, chunk)).toEqual(packets);
  });
});
