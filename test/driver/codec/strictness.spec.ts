import { describe, expect, it } from '@jest/globals';
import { encodePacket, PacketDecoder, type ProtocolVersion } from '../../../lib/driver/codec/index.js';
import { MqttError, MqttProtocolError } from '../../../lib/driver/errors.js';

const MALFORMED = 0x81;
const PROTOCOL = 0x82;
const UNSUPPORTED = 0x84;
const TOO_LARGE = 0x95;

function errorOf(bytes: number[], v: ProtocolVersion = 5, maximumPacketSize?: number): MqttProtocolError {
  const d = new PacketDecoder({ protocolVersion: v, maximumPacketSize });
  try {
    d.push(Buffer.from(bytes));
  } catch (err) {
    expect(err).toBeInstanceOf(MqttProtocolError);
    return err as MqttProtocolError;
  }
  throw new Error('decoder accepted invalid bytes');
}

function expectCode(bytes: number[], code: number, v: ProtocolVersion = 5): void {
  expect(errorOf(bytes, v).reasonCode).toBe(code);
}

/** Wraps a body in a fixed header with a one-byte remaining length. */
function pkt(first: number, body: number[]): number[] {
  return [first, body.length, ...body];
}

const str = (s: string) => [s.length >> 8, s.length & 0xff, ...Buffer.from(s)];
const raw = (bytes: number[]) => [bytes.length >> 8, bytes.length & 0xff, ...bytes];

/** CONNECT body with the given protocol name/level/flags (no will, no credentials). */
function connectBody(name: string, level: number, flags: number, extra: number[] = []): number[] {
  return [...str(name), level, flags, 0, 60, ...(level === 5 ? [0] : []), ...str('c'), ...extra];
}

describe('PacketDecoder strictness', () => {
  it('2.1.3 reserved flag bits: PUBREL must be 0010', () => expectCode(pkt(0x60, [0, 1]), MALFORMED));
  it('2.1.3 reserved flag bits: SUBSCRIBE must be 0010', () =>
    expectCode(pkt(0x80, [0, 1, 0, ...str('a'), 0]), MALFORMED));
  it('2.1.3 reserved flag bits: UNSUBSCRIBE must be 0010', () =>
    expectCode(pkt(0xa0, [0, 1, 0, ...str('a')]), MALFORMED));
  it('2.1.3 reserved flag bits: PUBACK must be 0000', () => expectCode(pkt(0x41, [0, 1]), MALFORMED));
  it('2.1.2 packet type 0 is reserved', () => expectCode([0x00, 0], MALFORMED));
  it('AUTH does not exist in 3.1.1', () => expectCode([0xf0, 0], MALFORMED, 4));
  it('2.1.4 remaining length over 4 bytes', () => expectCode([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], MALFORMED));
  it('1.5.5 remaining length not in shortest form', () => expectCode([0xc0, 0x80, 0x00], MALFORMED));

  it('1.5.4 invalid UTF-8 (lone continuation byte) in topic', () => expectCode(pkt(0x30, [0, 1, 0x80, 0]), MALFORMED));
  it('1.5.4 overlong UTF-8 ("/" as C0 AF) in topic', () => expectCode(pkt(0x30, [0, 2, 0xc0, 0xaf, 0]), MALFORMED));
  it('1.5.4 overlong 3-byte UTF-8 (E0 80 AF)', () => expectCode(pkt(0x30, [0, 3, 0xe0, 0x80, 0xaf, 0]), MALFORMED));
  it('1.5.4 UTF-16 surrogate U+D800 (ED A0 80)', () => expectCode(pkt(0x30, [0, 3, 0xed, 0xa0, 0x80, 0]), MALFORMED));
  it('1.5.4 code point above U+10FFFF (F4 90 80 80)', () =>
    expectCode(pkt(0x30, [0, 4, 0xf4, 0x90, 0x80, 0x80, 0]), MALFORMED));
  it('1.5.4 U+0000 in a string', () => expectCode(pkt(0x30, [0, 3, 0x61, 0x00, 0x62, 0]), MALFORMED));
  it('accepts valid multi-byte UTF-8 in a topic', () => {
    const topic = 'é/€/😀';
    const [p] = new PacketDecoder({ protocolVersion: 5 }).push(
      Buffer.from(pkt(0x30, [...raw([...Buffer.from(topic)]), 0])),
    );
    expect(p).toMatchObject({ type: 'publish', topic });
  });

  it('3.3.2.1 wildcard + in PUBLISH topic', () => expectCode(pkt(0x30, [...str('a/+'), 0]), MALFORMED));
  it('3.3.2.1 wildcard # in PUBLISH topic', () => expectCode(pkt(0x30, [...str('a/#')]), MALFORMED, 4));
  it('3.3.2.3.4 empty topic without topic alias (v5)', () => expectCode(pkt(0x30, [0, 0, 0]), PROTOCOL));
  it('empty topic with topic alias is accepted (v5)', () => {
    const [p] = new PacketDecoder({ protocolVersion: 5 }).push(Buffer.from(pkt(0x30, [0, 0, 3, 0x23, 0, 1])));
    expect(p).toMatchObject({ topic: '', properties: { topicAlias: 1 } });
  });
  it('3.3.1.2 PUBLISH QoS 3', () => expectCode(pkt(0x36, [...str('a'), 0, 1, 0]), MALFORMED));
  it('3.3.1.1 DUP set on QoS 0', () => expectCode(pkt(0x38, [...str('a'), 0]), MALFORMED));
  it('2.2.1 packet id 0 on QoS 1 PUBLISH', () => expectCode(pkt(0x32, [...str('a'), 0, 0, 0]), PROTOCOL));
  it('2.2.1 packet id 0 on PUBACK', () => expectCode(pkt(0x40, [0, 0]), PROTOCOL));
  it('2.2.1 packet id 0 on SUBSCRIBE', () => expectCode(pkt(0x82, [0, 0, 0, ...str('a'), 0]), PROTOCOL));

  it('3.1.2.1 bad protocol name → 0x84', () => expectCode(pkt(0x10, connectBody('MQTX', 4, 2)), UNSUPPORTED));
  it('3.1.2.2 bad protocol level → 0x84', () => expectCode(pkt(0x10, connectBody('MQTT', 3, 2)), UNSUPPORTED));
  it('3.1.2.3 CONNECT reserved flag bit', () => expectCode(pkt(0x10, connectBody('MQTT', 4, 0x03)), MALFORMED, 4));
  it('3.1.2.6 will QoS set without will flag', () => expectCode(pkt(0x10, connectBody('MQTT', 5, 0x08)), MALFORMED));
  it('3.1.2.7 will retain set without will flag', () =>
    expectCode(pkt(0x10, connectBody('MQTT', 4, 0x20)), MALFORMED, 4));
  it('3.1.2.9 password flag without username in 3.1.1', () =>
    expectCode(pkt(0x10, connectBody('MQTT', 4, 0x42, raw([1]))), MALFORMED, 4));
  it('password without username is accepted in MQTT 5', () => {
    const [p] = new PacketDecoder({ protocolVersion: 5 }).push(
      Buffer.from(pkt(0x10, connectBody('MQTT', 5, 0x42, raw([1])))),
    );
    expect(p).toMatchObject({ type: 'connect', password: Buffer.from([1]) });
  });

  it('3.8.3 SUBSCRIBE with no filters', () => expectCode(pkt(0x82, [0, 1, 0]), PROTOCOL));
  it('3.8.3.1 SUBSCRIBE reserved option bits (v5 bit 6)', () =>
    expectCode(pkt(0x82, [0, 1, 0, ...str('a'), 0x40]), MALFORMED));
  it('3.8.3.1 SUBSCRIBE reserved option bits (v4 bit 2)', () =>
    expectCode(pkt(0x82, [0, 1, ...str('a'), 0x04]), MALFORMED, 4));
  it('3.8.3.1 SUBSCRIBE retainHandling 3', () => expectCode(pkt(0x82, [0, 1, 0, ...str('a'), 0x30]), PROTOCOL));
  it('3.8.3.1 SUBSCRIBE QoS 3', () => expectCode(pkt(0x82, [0, 1, 0, ...str('a'), 0x03]), MALFORMED));
  it('4.7.1 SUBSCRIBE misplaced # in filter', () => expectCode(pkt(0x82, [0, 1, 0, ...str('a/#/b'), 0]), MALFORMED));
  it('3.10.3 UNSUBSCRIBE with no filters', () => expectCode(pkt(0xa2, [0, 1, 0]), PROTOCOL));

  it('3.2.2.3 CONNACK v4 return code > 5', () => expectCode(pkt(0x20, [0, 6]), MALFORMED, 4));
  it('3.2.2.1 CONNACK reserved flag bits', () => expectCode(pkt(0x20, [2, 0]), MALFORMED, 4));
  it('3.2.2.2 session present with a failure code', () => expectCode(pkt(0x20, [1, 0x80, 0]), PROTOCOL));
  it('3.4.2.1 PUBACK reason code not allowed for PUBACK', () => expectCode(pkt(0x40, [0, 1, 0x92]), MALFORMED));
  it('3.9.3 SUBACK v4 return code 0x03', () => expectCode(pkt(0x90, [0, 1, 3]), MALFORMED, 4));
  it('3.15.2.1 AUTH reason code 0x01', () => expectCode(pkt(0xf0, [0x01]), MALFORMED));

  it('trailing bytes after a v4 PUBACK body', () => expectCode(pkt(0x40, [0, 1, 0]), MALFORMED, 4));
  it('trailing bytes after a PINGREQ', () => expectCode(pkt(0xc0, [0]), MALFORMED));
  it('trailing bytes after CONNACK properties', () => expectCode(pkt(0x20, [0, 0, 0, 9]), MALFORMED));
  it('property length beyond the packet', () => expectCode(pkt(0x40, [0, 1, 0, 9]), MALFORMED));

  it('2.2.2.2 property not allowed on the packet (topicAlias on PUBACK)', () =>
    expectCode(pkt(0x40, [0, 1, 0, 3, 0x23, 0, 1]), MALFORMED));
  it('2.2.2.2 unknown property identifier', () => expectCode(pkt(0x40, [0, 1, 0, 2, 0x7f, 0]), MALFORMED));
  it('2.2.2.2 repeated single-valued property (reasonString twice)', () =>
    expectCode(pkt(0x40, [0, 1, 0, 8, 0x1f, ...str('a'), 0x1f, ...str('b')]), PROTOCOL));
  it('2.2.2.2 user property and PUBLISH subscription identifier may repeat', () => {
    const props = [0x26, ...str('k'), ...str('1'), 0x26, ...str('k'), ...str('2'), 0x0b, 1, 0x0b, 2];
    const [p] = new PacketDecoder({ protocolVersion: 5 }).push(
      Buffer.from(pkt(0x30, [...str('t'), props.length, ...props])),
    );
    expect(p).toMatchObject({
      properties: {
        userProperties: [
          ['k', '1'],
          ['k', '2'],
        ],
        subscriptionIdentifier: [1, 2],
      },
    });
  });
  it('3.8.2.1.2 repeated subscription identifier on SUBSCRIBE', () =>
    expectCode(pkt(0x82, [0, 1, 4, 0x0b, 1, 0x0b, 2, ...str('a'), 0]), PROTOCOL));
  it('3.3.2.3.8 subscription identifier 0', () => expectCode(pkt(0x30, [...str('t'), 2, 0x0b, 0]), PROTOCOL));
  it('3.3.2.3.4 topic alias 0', () => expectCode(pkt(0x30, [...str('t'), 3, 0x23, 0, 0]), PROTOCOL));
  it('3.1.2.11.3 receive maximum 0', () => expectCode(pkt(0x20, [0, 0, 3, 0x21, 0, 0]), PROTOCOL));
  it('payload format indicator 2', () => expectCode(pkt(0x30, [...str('t'), 2, 0x01, 2]), PROTOCOL));

  it('maximumPacketSize is enforced from the fixed header, before the body arrives', () => {
    const d = new PacketDecoder({ protocolVersion: 5, maximumPacketSize: 100 });
    // Header announces ~2 MB; no body bytes are sent at all.
    expect(() => d.push(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01]))).toThrow(
      expect.objectContaining({ reasonCode: TOO_LARGE }) as unknown as Error,
    );
  });
  it('rejects a nonsensical maximumPacketSize option instead of disabling the limit', () => {
    expect(() => new PacketDecoder({ protocolVersion: 5, maximumPacketSize: Number.NaN })).toThrow(MqttError);
    expect(() => new PacketDecoder({ protocolVersion: 5, maximumPacketSize: 0 })).toThrow(
      /maximumPacketSize must be an integer >= 2/,
    );
  });
  it('a packet split across chunks decodes once the body completes, within the limit', () => {
    const d = new PacketDecoder({ protocolVersion: 4, maximumPacketSize: 9 });
    expect(d.push(Buffer.from([0x30, 7, 0, 1]))).toEqual([]);
    expect(d.push(Buffer.from([0x61, 0x68, 0x69]))).toEqual([]);
    expect(d.push(Buffer.from([0x21, 0x21]))).toMatchObject([{ topic: 'a', payload: Buffer.from('hi!!') }]);
  });
  it('maximumPacketSize counts the fixed header', () => {
    // PUBACK: remaining length 2 fits a limit of 3, the whole packet (4 bytes) does not.
    expect(errorOf(pkt(0x40, [0, 1]), 4, 3).reasonCode).toBe(TOO_LARGE);
    const fits = new PacketDecoder({ protocolVersion: 4, maximumPacketSize: 4 });
    expect(fits.push(Buffer.from(pkt(0x40, [0, 1])))).toHaveLength(1);
  });

  it('stays dead after an error and rethrows the same error class; reset() revives it', () => {
    const d = new PacketDecoder({ protocolVersion: 5 });
    expect(() => d.push(Buffer.from([0x00, 0]))).toThrow(MqttProtocolError);
    expect(() => d.push(Buffer.from([0xc0, 0]))).toThrow(MqttProtocolError);
    d.reset();
    expect(d.push(Buffer.from([0xc0, 0]))).toEqual([{ type: 'pingreq' }]);
  });
});

describe('encodePacket refuses impossible packets', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(MqttProtocolError);
      return (err as MqttProtocolError).reasonCode;
    }
    throw new Error('encoder accepted an invalid packet');
  };
  const pub = { type: 'publish', topic: 't', payload: Buffer.alloc(0), retain: false, dup: false } as const;
  it('QoS 1 PUBLISH without packetId', () => expect(code(() => encodePacket({ ...pub, qos: 1 }, 4))).toBe(MALFORMED));
  it('string over 65535 bytes', () =>
    expect(code(() => encodePacket({ ...pub, qos: 0, topic: 'x'.repeat(65_536) }, 5))).toBe(MALFORMED));
  it('subscription identifier out of varint range', () =>
    expect(
      code(() =>
        encodePacket(
          {
            type: 'subscribe',
            packetId: 1,
            subscriptions: [{ topicFilter: 'a', qos: 0 }],
            properties: { subscriptionIdentifier: 268_435_456 },
          },
          5,
        ),
      ),
    ).toBe(MALFORMED));
  it('wildcard in PUBLISH topic', () =>
    expect(code(() => encodePacket({ ...pub, qos: 0, topic: 'a/#' }, 5))).toBe(MALFORMED));
  it('SUBSCRIBE without subscriptions', () =>
    expect(code(() => encodePacket({ type: 'subscribe', packetId: 1, subscriptions: [] }, 4))).toBe(MALFORMED));
});
