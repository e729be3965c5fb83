import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type IdiomApp, startIdiomApp, waitUntilAnswering } from './harness.js';
import { MathController, recordEvents } from './math.controller.js';
import { idiomModes, type RunningIdiomBroker, until } from './modes.js';

/**
 * The behaviours of Nest's `e2e/mqtt-record-builder.spec.ts` in every mode: a request built with Nest's own
 * `MqttRecordBuilder` reaches the handler as its data, at the record's QoS, which the handler reads from
 * `ctx.getPacket()` (Nest's `MqttContext` API). The server subscribes at QoS 2 (`subscribeOptions: { qos: 2 }` on
 * the built-in, the server option `qos: 2` on ours), so each request arrives at the record's QoS: a client that
 * drops it (our default request QoS is 0, the built-in's 0) or a server that ignores the setting fails.
 */
describe.each(idiomModes)('Nest mqtt-record-builder idioms: $name', (mode) => {
  const maybe = mode.available ? it : it.skip;
  let broker: RunningIdiomBroker;
  let running: IdiomApp;
  const payload = { items: [1, 2, 3] };

  beforeAll(async () => {
    if (!mode.available) return;
    broker = await mode.startBroker();
    running = await startIdiomApp(mode, broker, { controllers: [MathController], settings: { qos: 2 } });
    await waitUntilAnswering(running.client, { cmd: 'sum' }, [1]);
  });

  afterAll(async () => {
    await running?.close();
    await broker?.stop();
  });

  beforeEach(() => {
    recordEvents.length = 0;
  });

  maybe('send(record at QoS 1): the handler gets the data and sees QoS 1 in getPacket()', async () => {
    expect(await running.post('/record?qos=1', payload)).toEqual({
      status: 200,
      body: JSON.stringify({ data: payload, qos: 1 }),
    });
  });

  maybe('send(record at QoS 2) to a server subscribed at QoS 2 (server-wide qos): QoS 2 end to end', async () => {
    expect(JSON.parse((await running.post('/record?qos=2', payload)).body)).toEqual({ data: payload, qos: 2 });
  });

  maybe('send(record at QoS 0): the request leaves at QoS 0', async () => {
    expect(JSON.parse((await running.post('/record?qos=0', payload)).body)).toEqual({ data: payload, qos: 0 });
  });

  maybe('getPacket() and getTopic() describe the received PUBLISH as MqttContext does', async () => {
    const res = await running.post('/packet');
    expect(JSON.parse(res.body)).toEqual({
      topic: 'packet/p1',
      ctxTopic: 'packet/p1',
      qos: 1,
      retain: false,
      dup: false,
      messageId: 'number',
      payloadIsBuffer: true,
    });
  });

  maybe('emit(record at QoS 0): the event handler gets the data at QoS 0', async () => {
    await running.post('/record-event?qos=0', payload);
    await until(() => recordEvents.length > 0, 'the record event');
    expect(recordEvents).toEqual([{ data: payload, qos: 0 }]);
  });

  // Not applicable (3.1.1 mode) is an expected skip; a missing broker is not (REQUIRE_BROKERS=1 fails on it).
  (mode.available && mode.protocolVersion === 5 ? it : it.skip)(
    `MQTT 5: the record’s user properties reach getPacket().properties.userProperties${mode.protocolVersion === 5 ? '' : ' (expected skip)'}`,
    async () => {
      expect(await running.post('/record-properties', { tenant: 'acme' })).toEqual({
        status: 200,
        body: JSON.stringify({ tenant: 'acme' }),
      });
    },
  );
});
