import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { MqttAsyncExceptionFilter, REPLY_ERROR_PROPERTY, REPLY_MORE_PROPERTY } from '../../../lib/nest/index.js';
import { eventually } from '../../support/eventually.js';
import { describeIf, hasMosquitto, type RunningBroker, startMosquitto } from '../../support/mosquitto.js';
import { DevicesController, seen } from './app.fixture.js';
import { outsideClient, rpc, run, type StartedApp, startApp } from './helpers.js';

const suite = describeIf(hasMosquitto, 'mosquitto');

suite('ServerMqttAsync on mosquitto, MQTT 5', () => {
  let broker: RunningBroker;
  let started: StartedApp;
  let outside: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    started = await startApp(
      [DevicesController],
      { url: broker.url, protocolVersion: 5, deadLetterTopic: 'dlq' },
      (app) => app.useGlobalFilters(new MqttAsyncExceptionFilter()),
    );
    outside = await outsideClient(broker.url);
  });

  afterAll(async () => {
    await outside?.endAsync();
    await started?.app.close();
    await broker?.stop();
  });

  beforeEach(() => seen.reset());

  it('answers mosquitto_rr on the Response Topic with the serialized return value and topic params', async () => {
    const out = await run('mosquitto_rr', [
      ...['-V', '5', '-h', '127.0.0.1', '-p', String(broker.port)],
      ...['-t', 'devices/t1/cmd', '-e', 'rr/reply', '-m', '{"op":"reboot"}', '-W', '5'],
    ]);
    expect(JSON.parse(out)).toEqual({ id: 't1', accepted: true, op: 'reboot', pattern: 'devices/{id}/cmd' });
  });

  it('routes an RPC to exactly one, the most specific, handler', async () => {
    const literal = await rpc(outside, 'devices/special/cmd', '{}');
    expect(literal.map((r) => JSON.parse(r.payload))).toEqual([{ special: true }]);
    const fallback = await rpc(outside, 'devices/t1/status', '{}');
    expect(fallback.map((r) => JSON.parse(r.payload))).toEqual([{ fallback: 'devices/t1/status' }]);
    expect(fallback[0]!.contentType).toBe('application/json');
    // a single reply is final: it carries no more-follows flag
    expect(fallback[0]!.userProperties[REPLY_MORE_PROPERTY]).toBeUndefined();
  });

  it('streams Observable results, every reply but the last marked more-follows', async () => {
    const replies = await rpc(outside, 'stream/count', '3');
    const values = replies.filter((r) => r.payload !== '').map((r) => JSON.parse(r.payload));
    expect(values).toEqual([1, 2, 3]);
    expect(replies.at(-1)!.userProperties[REPLY_MORE_PROPERTY]).toBeUndefined();
    expect(replies.slice(0, -1).every((r) => r.userProperties[REPLY_MORE_PROPERTY] === '1')).toBe(true);
  });

  it('sends thrown errors, RpcException and failed validation back as error replies', async () => {
    const [thrown] = await rpc(outside, 'math/fail', '[1,2]');
    expect(thrown!.userProperties[REPLY_ERROR_PROPERTY]).toBe('1');
    expect(JSON.parse(thrown!.payload)).toEqual({ err: { status: 'error', message: 'Internal server error' } });

    const [rpcErr] = await rpc(outside, 'math/rpc-fail', '[1,2]');
    expect(JSON.parse(rpcErr!.payload)).toEqual({ err: { code: 'E_MATH', message: 'cannot do that' } });

    const [invalid] = await rpc(outside, 'devices/t1/cmd', '{"op":"format-disk"}');
    expect(invalid!.userProperties[REPLY_ERROR_PROPERTY]).toBe('1');
    const body = JSON.parse(invalid!.payload);
    expect(body.err.statusCode).toBe(400);
    expect(JSON.stringify(body.err.message)).toContain('op must be one of the following values');

    const [ok] = await rpc(outside, 'math/sum', '[1,2,3]');
    expect(JSON.parse(ok!.payload)).toBe(6);
  });

  it('answers an undecodable payload with a clear error', async () => {
    const [bad] = await rpc(outside, 'devices/t1/cmd', '{"op": reboot');
    expect(bad!.userProperties[REPLY_ERROR_PROPERTY]).toBe('1');
    expect(JSON.parse(bad!.payload).err.message).toMatch(/not valid JSON/);
  });

  it('delivers events to every matching handler once, with params, from mosquitto_pub', async () => {
    const before = started.handled.length;
    await run('mosquitto_pub', [
      ...['-V', '5', '-h', '127.0.0.1', '-p', String(broker.port)],
      ...['-t', 'temperature-sensors/t9/temperature', '-m', '21.5', '-q', '1'],
    ]);
    await started.handledOn('temperature-sensors/t9/temperature', before);
    expect(seen.temperatures).toEqual([
      {
        id: 't9',
        t: 21.5,
        topic: 'temperature-sensors/t9/temperature',
        pattern: 'temperature-sensors/{deviceId}/temperature',
      },
    ]);
    expect(seen.catchAll).toEqual(['temperature-sensors/t9/temperature']);
  });

  it('keeps foreign payloads intact (a data key is data, bytes stay bytes) and exposes user properties', async () => {
    const before = started.handled.length;
    await outside.publishAsync('raw/a', JSON.stringify({ pattern: 'x', data: 1, extra: true }), {
      qos: 1,
      properties: { userProperties: { k: 'v', tenant: 'acme' } },
    });
    await outside.publishAsync('raw/b', Buffer.from([0xff, 0x00, 0xfe]), { qos: 1 });
    await outside.publishAsync('raw/c', 'plain text', { qos: 1 });
    await started.handledCount(before + 3);
    expect(seen.raw[0]).toEqual({ pattern: 'x', data: 1, extra: true });
    expect(Buffer.isBuffer(seen.raw[1])).toBe(true);
    expect([...(seen.raw[1] as Buffer)]).toEqual([0xff, 0x00, 0xfe]);
    expect(seen.raw[2]).toBe('plain text');
    expect(seen.userProps[0]).toMatchObject({ k: 'v', tenant: 'acme' });
  });

  it('decodes by Content Type first and gives all params to @TopicParam()', async () => {
    const before = started.handled.length;
    await outside.publishAsync('typed/x/y', '{"a":1}', { qos: 1, properties: { contentType: 'text/plain' } });
    await outside.publishAsync('typed/x/z', '42', { qos: 1, properties: { contentType: 'application/octet-stream' } });
    await started.handledOn('typed/x/z', before);
    expect(seen.typed[0]).toEqual({ data: '{"a":1}', params: { a: 'x', b: 'y' } });
    expect(Buffer.isBuffer(seen.typed[1]!.data)).toBe(true);
    expect(seen.typed[1]!.params).toEqual({ a: 'x', b: 'z' });
  });

  it('logs and dead-letters events that fail validation or decoding, and keeps running', async () => {
    await outside.subscribeAsync('dlq', { qos: 1 });
    const dead: Array<{ payload: string; props: Record<string, unknown> }> = [];
    const onMessage = (
      t: string,
      payload: Buffer,
      packet: { properties?: { userProperties?: Record<string, unknown> } },
    ) => {
      if (t === 'dlq') dead.push({ payload: payload.toString(), props: packet.properties?.userProperties ?? {} });
    };
    outside.on('message', onMessage);
    const before = started.handled.length;
    await outside.publishAsync('strict/1', '{"op":"nope"}', { qos: 1 });
    await outside.publishAsync('strict/2', '{not json', { qos: 1 });
    await started.handledCount(before + 2);
    const errors = started.handled.slice(before).map((h) => h.error);
    expect(errors.every((e) => e !== undefined)).toBe(true);
    await eventually(() => dead.length >= 2, 'two dead letters', 10_000);
    outside.off('message', onMessage);
    expect(dead.map((d) => d.payload).sort()).toEqual(['{"op":"nope"}', '{not json'].sort());
    expect(dead.every((d) => typeof d.props['nest-mqtt-async:error-message'] === 'string')).toBe(true);
    const [ok] = await rpc(outside, 'math/sum', '[2,2]');
    expect(JSON.parse(ok!.payload)).toBe(4);
  });

  it('runs a @MessagePattern handler for a message without Response Topic and emits message:handled', async () => {
    const before = started.handled.length;
    await outside.publishAsync('math/sum', '[1]', { qos: 1 });
    await started.handledCount(before + 1);
    expect(started.handled[before]!.topic).toBe('math/sum');
    expect(started.handled[before]!.error).toBeUndefined();
  });
});
