import { describe, expect, it } from '@jest/globals';
import type { MqttMessage } from '../../../lib/driver/index.js';
import { MqttAsyncRecord, MqttAsyncRecordBuilder } from '../../../lib/nest/record/index.js';
import { decodePayload, encodePayload, TEXT_CONTENT_TYPE } from '../../../lib/nest/serialization/index.js';

function message(payload: Buffer, contentType?: string): MqttMessage {
  return { topic: 't', payload, properties: contentType ? { contentType } : undefined } as unknown as MqttMessage;
}

describe('encodePayload', () => {
  it('objects, numbers, booleans and null are JSON', () => {
    expect(encodePayload({ a: 1 })).toEqual({ payload: '{"a":1}', contentType: 'application/json' });
    expect(encodePayload(42)).toEqual({ payload: '42', contentType: 'application/json' });
    expect(encodePayload(false)).toEqual({ payload: 'false', contentType: 'application/json' });
    expect(encodePayload(null)).toEqual({ payload: 'null', contentType: 'application/json' });
  });
  it('strings are UTF-8 text, bytes untouched', () => {
    expect(encodePayload('héllo')).toEqual({ payload: 'héllo', contentType: TEXT_CONTENT_TYPE });
    const bytes = Buffer.from([0xff, 0x00]);
    expect(encodePayload(bytes).payload).toBe(bytes);
    expect(encodePayload(bytes).contentType).toBeUndefined();
  });
});

describe('decodePayload', () => {
  it('follows the Content Type when present', () => {
    expect(decodePayload(message(Buffer.from('{"data":1}'), 'application/json'))).toEqual({
      ok: true,
      value: { data: 1 },
    });
    expect(decodePayload(message(Buffer.from('42'), 'text/plain'))).toEqual({ ok: true, value: '42' });
    const raw = decodePayload(message(Buffer.from('42'), 'application/octet-stream'));
    expect(raw.ok && Buffer.isBuffer(raw.value)).toBe(true);
  });
  it('without Content Type: JSON, else text, else bytes; keeps a foreign data key', () => {
    expect(decodePayload(message(Buffer.from('{"data":{"x":1},"k":2}')))).toEqual({
      ok: true,
      value: { data: { x: 1 }, k: 2 },
    });
    expect(decodePayload(message(Buffer.from('hello')))).toEqual({ ok: true, value: 'hello' });
    const bin = decodePayload(message(Buffer.from([0xff, 0xfe])));
    expect(bin.ok && Buffer.isBuffer(bin.value)).toBe(true);
  });
  it('reports bad JSON as an error result instead of throwing', () => {
    const result = decodePayload(message(Buffer.from('{oops'), 'application/json'));
    expect(result.ok).toBe(false);
  });
});

describe('MqttAsyncRecordBuilder', () => {
  it('builds a record with qos, retain and MQTT 5 properties', () => {
    const record = new MqttAsyncRecordBuilder({ v: 1 })
      .setQos(1)
      .setRetain(true)
      .setUserProperties({ k: 'v' })
      .setContentType('application/json')
      .setMessageExpiryInterval(30)
      .build();
    expect(record).toBeInstanceOf(MqttAsyncRecord);
    expect(record.data).toEqual({ v: 1 });
    expect(record.options).toEqual({
      qos: 1,
      retain: true,
      properties: { userProperties: [['k', 'v']], contentType: 'application/json', messageExpiryInterval: 30 },
    });
  });
});
