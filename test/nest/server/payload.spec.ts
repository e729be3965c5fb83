import { describe, expect, it } from '@jest/globals';
import type { MqttMessage, PublishProperties } from '../../../lib/driver/index.js';
import {
  decodePayloadOrThrow as decodePayload,
  encodePayload,
  MqttAsyncPayloadError,
} from '../../../lib/nest/serialization/payload.js';

const msg = (payload: Buffer | string, properties: PublishProperties = {}): MqttMessage => ({
  topic: 't',
  payload: Buffer.from(payload),
  qos: 0,
  retain: false,
  dup: false,
  properties,
  userProperties: {},
  ack: async () => undefined,
  nack: async () => undefined,
});

describe('decodePayload', () => {
  it('uses Content Type first', () => {
    expect(decodePayload(msg('{"a":1}', { contentType: 'application/json' }))).toEqual({ a: 1 });
    expect(decodePayload(msg('{"a":1}', { contentType: 'text/plain' }))).toBe('{"a":1}');
    expect(Buffer.isBuffer(decodePayload(msg('12', { contentType: 'application/octet-stream' })))).toBe(true);
    expect(() => decodePayload(msg('{bad', { contentType: 'application/json' }))).toThrow(MqttAsyncPayloadError);
  });

  it('without Content Type: JSON when it parses, else text, else bytes; never unwraps a data key', () => {
    expect(decodePayload(msg('21.5'))).toBe(21.5);
    expect(decodePayload(msg('{"data":{"x":1},"pattern":"p"}'))).toEqual({ data: { x: 1 }, pattern: 'p' });
    expect(decodePayload(msg('hello'))).toBe('hello');
    expect([...(decodePayload(msg(Buffer.from([0xff, 0xfe]))) as Buffer)]).toEqual([0xff, 0xfe]);
    expect(decodePayload(msg(''))).toBeUndefined();
    expect(() => decodePayload(msg('{"op": reboot'))).toThrow(/not valid JSON/);
  });
});

describe('encodePayload', () => {
  it('objects → JSON with content type, strings as they are, bytes untouched', () => {
    expect(encodePayload({ a: 1 })).toEqual({ payload: '{"a":1}', contentType: 'application/json' });
    expect(encodePayload('x')).toEqual({ payload: 'x', contentType: 'text/plain; charset=utf-8' });
    const bytes = new Uint8Array([1, 2]);
    expect(encodePayload(bytes).payload).toBe(bytes);
    expect(encodePayload(undefined)).toEqual({ payload: '' });
  });
});
