/**
 * Byte-exact golden vectors written by hand from the OASIS MQTT 5.0 (§3.x) and 3.1.1 (§3.x) layouts.
 * Each vector is asserted both ways: encodePacket(obj) === bytes and decode(bytes) deep-equals obj.
 */
import { describe, expect, it } from '@jest/globals';
import { encodePacket, PacketDecoder } from '../../../lib/driver/codec/index.js';
import type { Packet, ProtocolVersion } from '../../../lib/driver/codec/packets.js';

/** Hex with `#` comments to end of line; whitespace ignored. */
function hex(text: string): Buffer {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  return Buffer.from(clean, 'hex');
}

interface Vector {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  bytes: Buffer;
}

const vectors: Vector[] = [
  {
    name: 'v5 CONNECT with will + properties',
    version: 5,
    packet: {
      type: 'connect',
      protocolVersion: 5,
      clientId: 'c1',
      cleanStart: true,
      keepalive: 60,
      username: 'u',
      password: Buffer.from('p'),
      properties: { sessionExpiryInterval: 10, receiveMaximum: 20 },
      will: {
        topic: 'w/t',
        payload: Buffer.from('bye'),
        qos: 1,
        retain: true,
        properties: { willDelayInterval: 5, contentType: 'txt' },
      },
    },
    bytes: hex(`
      10 33                   # CONNECT, remaining length 51
      00 04 4d 51 54 54       # protocol name "MQTT"
      05                      # protocol level 5
      ee                      # flags: user 1, pass 1, will retain 1, will QoS 01, will 1, clean start 1, reserved 0
      00 3c                   # keep alive 60
      08                      # properties length 8
      11 00 00 00 0a          # 0x11 Session Expiry Interval = 10
      21 00 14                # 0x21 Receive Maximum = 20
      00 02 63 31             # client id "c1"
      0b                      # will properties length 11 (property order is free per spec; ours is fixed)
      03 00 03 74 78 74       # 0x03 Content Type "txt"
      18 00 00 00 05          # 0x18 Will Delay Interval = 5
      00 03 77 2f 74          # will topic "w/t"
      00 03 62 79 65          # will payload "bye"
      00 01 75                # user name "u"
      00 01 70                # password "p"
    `),
  },
  {
    name: 'v4 CONNECT with will',
    version: 4,
    packet: {
      type: 'connect',
      protocolVersion: 4,
      clientId: 'c1',
      cleanStart: false,
      keepalive: 30,
      will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false },
    },
    bytes: hex(`
      10 14                   # CONNECT, remaining length 20
      00 04 4d 51 54 54       # "MQTT"
      04                      # protocol level 4
      14                      # flags: will QoS 10, will flag 1, clean session 0
      00 1e                   # keep alive 30
      00 02 63 31             # client id "c1"
      00 01 77                # will topic "w"
      00 01 78                # will message "x"
    `),
  },
  {
    name: 'v5 PUBLISH with every PUBLISH property',
    version: 5,
    packet: {
      type: 'publish',
      topic: 'a/b',
      payload: Buffer.from('hi'),
      qos: 1,
      retain: false,
      dup: true,
      packetId: 10,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 3600,
        topicAlias: 7,
        responseTopic: 'r',
        correlationData: Buffer.from([0xde, 0xad]),
        userProperties: [
          ['k', 'v'],
          ['k', 'w'],
        ],
        subscriptionIdentifier: [268435455],
        contentType: 'j',
      },
    },
    bytes: hex(`
      3a 34                   # PUBLISH, DUP 1, QoS 01, RETAIN 0; remaining length 52
      00 03 61 2f 62          # topic "a/b"
      00 0a                   # packet id 10
      2a                      # properties length 42
      01 01                   # 0x01 Payload Format Indicator = 1
      02 00 00 0e 10          # 0x02 Message Expiry Interval = 3600
      03 00 01 6a             # 0x03 Content Type "j"
      08 00 01 72             # 0x08 Response Topic "r"
      09 00 02 de ad          # 0x09 Correlation Data de ad
      0b ff ff ff 7f          # 0x0B Subscription Identifier 268435455 (max VBI)
      23 00 07                # 0x23 Topic Alias = 7
      26 00 01 6b 00 01 76    # 0x26 User Property k=v
      26 00 01 6b 00 01 77    # 0x26 User Property k=w (repeated key kept)
      68 69                   # payload "hi"
    `),
  },
  {
    name: 'v5 SUBSCRIBE with options, subscription identifier and user property',
    version: 5,
    packet: {
      type: 'subscribe',
      packetId: 1,
      properties: { subscriptionIdentifier: 200, userProperties: [['a', 'b']] },
      subscriptions: [
        { topicFilter: 'a/+', qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 0 },
        { topicFilter: 'b/#', qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 2 },
        { topicFilter: 'c', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 1 },
      ],
    },
    bytes: hex(`
      82 1d                   # SUBSCRIBE (flags 0010), remaining length 29
      00 01                   # packet id 1
      0a                      # properties length 10
      0b c8 01                # 0x0B Subscription Identifier 200 (VBI c8 01)
      26 00 01 61 00 01 62    # 0x26 User Property a=b
      00 03 61 2f 2b 05       # "a/+"  options: QoS 1, No Local
      00 03 62 2f 23 2a       # "b/#"  options: QoS 2, Retain As Published, Retain Handling 2
      00 01 63 10             # "c"    options: QoS 0, Retain Handling 1
    `),
  },
  {
    name: 'v5 SUBACK with reason codes',
    version: 5,
    packet: {
      type: 'suback',
      packetId: 1,
      reasonCodes: [0x00, 0x01, 0x02, 0x80, 0x97],
      properties: { reasonString: 'q' },
    },
    bytes: hex(`
      90 0c                   # SUBACK, remaining length 12
      00 01                   # packet id 1
      04 1f 00 01 71          # properties length 4: 0x1F Reason String "q"
      00 01 02 80 97          # Granted QoS 0/1/2, Unspecified error, Quota exceeded
    `),
  },
  {
    name: 'v4 SUBACK',
    version: 4,
    packet: { type: 'suback', packetId: 0x1234, reasonCodes: [0x00, 0x02, 0x80] },
    bytes: hex(`
      90 05                   # SUBACK, remaining length 5
      12 34                   # packet id 0x1234
      00 02 80                # return codes: QoS 0, QoS 2, Failure
    `),
  },
  {
    name: 'v5 UNSUBACK with reason codes',
    version: 5,
    packet: { type: 'unsuback', packetId: 7, reasonCodes: [0x00, 0x11, 0x87] },
    bytes: hex(`
      b0 06                   # UNSUBACK, remaining length 6
      00 07                   # packet id 7
      00                      # properties length 0
      00 11 87                # Success, No subscription existed, Not authorized
    `),
  },
  {
    name: 'v5 DISCONNECT with reason string',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0x8e, properties: { reasonString: 'bye' } },
    bytes: hex(`
      e0 08                   # DISCONNECT, remaining length 8
      8e                      # reason code 0x8E Session taken over
      06 1f 00 03 62 79 65    # properties length 6: 0x1F Reason String "bye"
    `),
  },
  { name: 'v4 PINGREQ', version: 4, packet: { type: 'pingreq' }, bytes: hex('c0 00') },
  { name: 'v5 PINGRESP', version: 5, packet: { type: 'pingresp' }, bytes: hex('d0 00') },
  {
    name: 'v5 PUBACK short form (success, no properties)',
    version: 5,
    packet: { type: 'puback', packetId: 5, reasonCode: 0 },
    bytes: hex(`
      40 02                   # PUBACK, remaining length 2 (§3.4.2.1: reason code omitted when 0 and no properties)
      00 05                   # packet id 5
    `),
  },
  {
    name: 'v4 PUBACK',
    version: 4,
    packet: { type: 'puback', packetId: 0xffff },
    bytes: hex('40 02 ff ff'),
  },
];

describe('golden vectors', () => {
  for (const v of vectors) {
    it(`${v.name}: encodes to the exact bytes`, () => {
      expect(encodePacket(v.packet, v.version).toString('hex')).toBe(v.bytes.toString('hex'));
    });
    it(`${v.name}: decodes to the packet`, () => {
      const packets = new PacketDecoder({ protocolVersion: v.version }).push(v.bytes);
      expect(packets).toEqual([v.packet]);
    });
  }
});

describe('golden vectors, decode only', () => {
  it('v5 PUBLISH properties in another order decode the same (2.2.2.2: order is free)', () => {
    const bytes = hex(`
      3a 34                   # PUBLISH, DUP 1, QoS 01; remaining length 52
      00 03 61 2f 62          # topic "a/b"
      00 0a                   # packet id 10
      2a                      # properties length 42
      26 00 01 6b 00 01 76    # 0x26 User Property k=v
      23 00 07                # 0x23 Topic Alias = 7
      0b ff ff ff 7f          # 0x0B Subscription Identifier 268435455
      26 00 01 6b 00 01 77    # 0x26 User Property k=w
      09 00 02 de ad          # 0x09 Correlation Data
      08 00 01 72             # 0x08 Response Topic "r"
      03 00 01 6a             # 0x03 Content Type "j"
      02 00 00 0e 10          # 0x02 Message Expiry Interval = 3600
      01 01                   # 0x01 Payload Format Indicator = 1
      68 69                   # payload "hi"
    `);
    const publish = vectors.find((v) => v.name.startsWith('v5 PUBLISH'));
    expect(new PacketDecoder({ protocolVersion: 5 }).push(bytes)).toEqual([publish?.packet]);
  });
});
