import { describe, expect, it } from '@jest/globals';
import { encodePacket, PacketDecoder, type ProtocolVersion } from '../../../lib/driver/codec/index.js';
import { MqttProtocolError } from '../../../lib/driver/index.js';

/** Feeds bytes and returns the MqttProtocolError's reason code (fails if anything else happens). */
function rejectCode(bytes: number[], version: ProtocolVersion = 5, maximumPacketSize?: number): number {
  const decoder = new PacketDecoder({ protocolVersion: version, maximumPacketSize });
  try {
    decoder.push(Buffer.from(bytes));
  } catch (err) {
    expect(err).toBeInstanceOf(MqttProtocolError);
    return (err as MqttProtocolError).reasonCode;
  }
  throw new Error('decoder accepted invalid input');
}

const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;

describe('decoder strictness (MQTT 5.0 / 3.1.1)', () => {
  it('reserved flag bits of fixed headers (2.1.3)', () => {
    expect(rejectCode([0x41, 0x02, 0x00, 0x01])).toBe(MALFORMED); // PUBACK with flags 0001
    expect(rejectCode([0x60, 0x02, 0x00, 0x01])).toBe(MALFORMED); // PUBREL must be 0010
    expect(rejectCode([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], 4)).toBe(MALFORMED); // SUBSCRIBE 0000
    expect(rejectCode([0xc1, 0x00])).toBe(MALFORMED); // PINGREQ 0001
  });

  it('reserved packet type 0, and AUTH on 3.1.1', () => {
    expect(rejectCode([0x00, 0x00])).toBe(MALFORMED);
    expect(rejectCode([0xf0, 0x00], 4)).toBe(MALFORMED);
  });

  it('Remaining Length over 4 bytes and non-shortest (1.5.5)', () => {
    expect(rejectCode([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])).toBe(MALFORMED);
    expect(rejectCode([0xc0, 0x80, 0x00])).toBe(MALFORMED);
  });

  it('maximumPacketSize is enforced from the fixed header, before the body arrives', () => {
    // Announces 1,000,000 bytes of PUBLISH; only the header is sent.
    expect(rejectCode([0x30, 0xc0, 0x84, 0x3d], 5, 1024)).toBe(0x95);
  });

  it('QoS 3 and DUP on QoS 0 PUBLISH (3.3.1)', () => {
    expect(rejectCode([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])).toBe(MALFORMED);
    expect(rejectCode([0x38, 0x04, 0x00, 0x01, 0x61, 0x00])).toBe(MALFORMED);
  });

  it('wildcards in a PUBLISH topic name (3.3.2.1)', () => {
    expect(rejectCode([0x30, 0x04, 0x00, 0x01, 0x2b, 0x00])).toBe(MALFORMED);
    expect(rejectCode([0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x23], 4)).toBe(MALFORMED);
  });

  it('invalid UTF-8: overlong, surrogate, U+0000, truncated (1.5.4)', () => {
    expect(rejectCode([0x30, 0x05, 0x00, 0x02, 0xc0, 0xaf, 0x00])).toBe(MALFORMED); // overlong '/'
    expect(rejectCode([0x30, 0x06, 0x00, 0x03, 0xed, 0xa0, 0x80, 0x00])).toBe(MALFORMED); // U+D800
    expect(rejectCode([0x30, 0x04, 0x00, 0x01, 0x00, 0x00])).toBe(MALFORMED); // U+0000
    expect(rejectCode([0x30, 0x04, 0x00, 0x01, 0xe2, 0x00])).toBe(MALFORMED); // truncated sequence
  });

  it('packet identifier 0 where one is required (2.2.1)', () => {
    // The spec names no code for this; like mosquitto, we answer Protocol Error.
    expect(rejectCode([0x40, 0x02, 0x00, 0x00])).toBe(PROTOCOL_ERROR);
    expect(rejectCode([0x32, 0x06, 0x00, 0x01, 0x61, 0x00, 0x00, 0x00])).toBe(PROTOCOL_ERROR);
  });

  it('properties not allowed on the packet, or repeated (2.2.2.2)', () => {
    // PUBACK with Session Expiry Interval: an identifier not valid for the packet type is Malformed (2.2.2.2)
    expect(rejectCode([0x40, 0x09, 0x00, 0x01, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01])).toBe(MALFORMED);
    // PUBLISH with Content Type twice
    expect(rejectCode([0x30, 0x0c, 0x00, 0x01, 0x61, 0x08, 0x03, 0x00, 0x01, 0x78, 0x03, 0x00, 0x01, 0x79])).toBe(
      PROTOCOL_ERROR,
    );
    // Unknown property identifier 0x7f
    expect(rejectCode([0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x7f, 0x00])).toBe(MALFORMED);
  });

  it('repeated User Properties and Subscription Identifiers on PUBLISH are allowed and kept in order', () => {
    const d = new PacketDecoder({ protocolVersion: 5 });
    const props = [
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x31, 0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x32, 0x0b, 0x05, 0x0b, 0x03,
    ];
    const [p] = d.push(Buffer.from([0x30, 4 + props.length, 0x00, 0x01, 0x61, props.length, ...props]));
    expect(p).toMatchObject({
      properties: {
        userProperties: [
          ['k', '1'],
          ['k', '2'],
        ],
        subscriptionIdentifier: [5, 3],
      },
    });
  });

  it('CONNECT: protocol name and level (3.1.2.1, 3.1.2.2)', () => {
    const connect = (name: number[], level: number) => [
      0x10,
      2 + name.length + 6,
      0x00,
      name.length,
      ...name,
      level,
      0x02,
      0x00,
      0x3c,
      0x00,
      0x00,
    ];
    expect(rejectCode(connect([0x4d, 0x51, 0x54, 0x54], 6))).toBe(0x84);
    expect(rejectCode(connect([0x4d, 0x51, 0x49, 0x73], 4))).toBe(0x84);
  });

  it('CONNECT: reserved flag bit, will QoS without will flag, password without username on 3.1.1', () => {
    const connect = (flags: number) => [
      0x10,
      0x0c,
      0x00,
      0x04,
      0x4d,
      0x51,
      0x54,
      0x54,
      0x04,
      flags,
      0x00,
      0x3c,
      0x00,
      0x00,
    ];
    expect(rejectCode(connect(0x03))).toBe(MALFORMED);
    expect(rejectCode(connect(0x0a))).toBe(MALFORMED);
    expect(rejectCode(connect(0x42))).toBe(MALFORMED);
  });

  it('SUBSCRIBE: no filters, reserved option bits, Retain Handling 3, QoS 3', () => {
    expect(rejectCode([0x82, 0x03, 0x00, 0x01, 0x00])).toBe(PROTOCOL_ERROR);
    expect(rejectCode([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x40])).toBe(MALFORMED);
    expect(rejectCode([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x30])).toBe(PROTOCOL_ERROR);
    expect(rejectCode([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x03])).toBe(MALFORMED);
  });

  it('UNSUBSCRIBE with no filters; CONNACK return code > 5 on 3.1.1; trailing bytes', () => {
    expect(rejectCode([0xa2, 0x03, 0x00, 0x01, 0x00])).toBe(PROTOCOL_ERROR);
    expect(rejectCode([0x20, 0x02, 0x00, 0x06], 4)).toBe(MALFORMED);
    expect(rejectCode([0xd0, 0x01, 0x00])).toBe(MALFORMED);
  });

  it('a Subscription Identifier or Receive Maximum of 0 is a Protocol Error', () => {
    expect(rejectCode([0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x0b, 0x00])).toBe(PROTOCOL_ERROR);
    expect(rejectCode([0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00])).toBe(PROTOCOL_ERROR);
  });

  it('is dead after an error: further pushes fail the same way', () => {
    const d = new PacketDecoder({ protocolVersion: 5 });
    expect(() => d.push(Buffer.from([0x00, 0x00]))).toThrow(MqttProtocolError);
    expect(() => d.push(Buffer.from([0xc0, 0x00]))).toThrow(MqttProtocolError);
  });
});

describe('a body announced larger than what arrived', () => {
  it('costs memory as its bytes arrive, not its announced size', () => {
    const decoder = new PacketDecoder({ protocolVersion: 5 });
    const before = process.memoryUsage().arrayBuffers;
    // PUBLISH QoS 0 announcing 268,435,455 bytes (the protocol maximum), then 10 bytes of it.
    decoder.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x74, 1, 2, 3, 4, 5, 6, 7]));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('still decodes a packet that spans many chunks once the last byte arrives', () => {
    const payload = Buffer.alloc(300_000, 0x61);
    const bytes = encodePacket({ type: 'publish', topic: 'big', qos: 0, retain: false, dup: false, payload }, 5);
    const decoder = new PacketDecoder({ protocolVersion: 5 });
    const out = [];
    for (let i = 0; i < bytes.length; i += 7_001) out.push(...decoder.push(bytes.subarray(i, i + 7_001)));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 'publish', topic: 'big' });
    expect((out[0] as { payload: Buffer }).payload.equals(payload)).toBe(true);
  });
});
