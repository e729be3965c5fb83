import { describe, expect, it } from '@jest/globals';
import type { MqttMessage } from '../../../lib/driver/index.js';
import { FLAG, REPLY_ERROR_PROPERTY, REPLY_MORE_PROPERTY } from '../../../lib/nest/protocol.js';
import { MqttAsyncRecord, MqttAsyncRecordBuilder } from '../../../lib/nest/record/index.js';
import {
  decodePayload,
  decodeRequest,
  decodeResponse,
  encodePayload,
  encodeRequest,
  encodeResponse,
  MqttAsyncPayloadError,
  TEXT_CONTENT_TYPE,
} from '../../../lib/nest/serialization/index.js';

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

function mqttMessage(topic: string, payload: string, extra: Partial<MqttMessage> = {}): MqttMessage {
  return {
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    dup: false,
    properties: {},
    userProperties: {},
    ack: async () => undefined,
    nack: async () => undefined,
    ...extra,
  };
}

describe('Nest packet conventions (server side)', () => {
  const nest = { nestWire: true };
  const native = { nestWire: false };

  it('unwraps exactly a Nest request in the wire format, never a foreign data key', async () => {
    const request = mqttMessage('a/b', '{"pattern":"a/b","data":{"x":1},"id":"r1"}');
    expect(await decodeRequest(request, nest)).toEqual({ data: { x: 1 }, id: 'r1' });
    expect(await decodeRequest(mqttMessage('a/b', '{"pattern":"a/b","data":2}'), nest)).toEqual({ data: 2 });
    const foreign = mqttMessage('a/b', '{"data":{"x":1},"k":2}');
    expect(await decodeRequest(foreign, nest)).toEqual({ data: { data: { x: 1 }, k: 2 } });
    expect(await decodeRequest(request, native)).toEqual({
      data: { pattern: 'a/b', data: { x: 1 }, id: 'r1' },
    });
  });

  it('flags Nest replies on <topic>/reply so they are never handled', async () => {
    const reply = mqttMessage('a/b/reply', '{"id":"r1","response":3,"isDisposed":true}');
    expect(await decodeRequest(reply, nest)).toEqual({ data: undefined, isReply: true });
    expect(await decodeRequest(reply, native)).toEqual({ data: { id: 'r1', response: 3, isDisposed: true } });
  });

  it('a custom deserializer returns the Nest packet; anything else is a payload error', async () => {
    const deserializer = {
      deserialize: async (value: unknown, o?: Record<string, unknown>) => ({
        pattern: o?.channel,
        data: { wrapped: value },
        id: 'x',
      }),
    };
    const message = mqttMessage('t/1', '"v"');
    expect(await decodeRequest(message, { ...native, deserializer })).toEqual({ data: { wrapped: 'v' } });
    expect(await decodeRequest(message, { ...nest, deserializer })).toEqual({ data: { wrapped: 'v' }, id: 'x' });
    const broken = { deserialize: () => 'not a packet' };
    await expect(decodeRequest(message, { ...native, deserializer: broken })).rejects.toThrow(MqttAsyncPayloadError);
  });

  it('encodes replies: the value natively, { err } for errors, the whole packet in the wire format', async () => {
    expect(await encodeResponse({ response: { a: 1 }, isDisposed: true }, native)).toEqual({
      payload: '{"a":1}',
      contentType: 'application/json',
    });
    expect((await encodeResponse({ err: { message: 'x' }, isDisposed: true }, native)).payload).toBe(
      '{"err":{"message":"x"}}',
    );
    expect(
      JSON.parse((await encodeResponse({ id: 'r', response: 1, isDisposed: true }, nest)).payload as string),
    ).toEqual({
      id: 'r',
      response: 1,
      isDisposed: true,
    });
    const serializer = { serialize: async (p: unknown) => Buffer.from(JSON.stringify(p)) };
    const custom = await encodeResponse({ response: 1, isDisposed: true }, { ...native, serializer });
    expect(Buffer.isBuffer(custom.payload)).toBe(true);
    expect(custom.contentType).toBeUndefined();
  });
});

describe('Nest packet conventions (client side)', () => {
  it('encodes requests: data natively, the packet in the wire format, the serializer output when given', async () => {
    expect(await encodeRequest({ pattern: 'p', data: 'hi', id: '1' }, { nestWire: false })).toEqual({
      payload: 'hi',
      contentType: TEXT_CONTENT_TYPE,
    });
    const wire = await encodeRequest({ pattern: 'p', data: 'hi', id: '1' }, { nestWire: true });
    expect(JSON.parse(wire.payload as string)).toEqual({ pattern: 'p', data: 'hi', id: '1' });
    const serializer = { serialize: (p: { data: unknown }) => `<${String(p.data)}>` };
    expect((await encodeRequest({ pattern: 'p', data: 'hi' }, { nestWire: true, serializer })).payload).toBe('<hi>');
  });

  it('decodes native replies by their flags and correlation data', async () => {
    const correlationData = Buffer.from('c1');
    // a reply without our flags (any plain MQTT 5 responder) is final; only more-follows keeps the request open
    const plain = mqttMessage('r', '5', { properties: { correlationData }, userProperties: {} });
    expect(await decodeResponse(plain, { nestWire: false })).toEqual({ id: 'c1', response: 5, isDisposed: true });
    const more = mqttMessage('r', '5', {
      properties: { correlationData },
      userProperties: { [REPLY_MORE_PROPERTY]: FLAG },
    });
    expect(await decodeResponse(more, { nestWire: false })).toEqual({ id: 'c1', response: 5, isDisposed: false });
    const error = mqttMessage('r', '{"err":{"code":"E"}}', {
      properties: { correlationData },
      userProperties: { [REPLY_ERROR_PROPERTY]: FLAG },
    });
    expect(await decodeResponse(error, { nestWire: false })).toEqual({
      id: 'c1',
      err: { code: 'E' },
      isDisposed: true,
    });
  });

  it('decodes Nest wire replies; a foreign payload is a final response without id', async () => {
    const reply = mqttMessage('p/reply', '{"id":"1","response":{"data":1},"isDisposed":true}');
    expect(await decodeResponse(reply, { nestWire: true })).toEqual({
      id: '1',
      response: { data: 1 },
      isDisposed: true,
    });
    const foreign = mqttMessage('p/reply', '{"id":"1","response":2,"extra":true}');
    expect(await decodeResponse(foreign, { nestWire: true })).toEqual({
      response: { id: '1', response: 2, extra: true },
      isDisposed: true,
    });
  });
});
