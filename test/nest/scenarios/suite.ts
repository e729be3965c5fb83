import { afterEach, beforeEach, describe, expect, it as jestIt } from '@jest/globals';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import type { MqttDriverClient } from '../../../lib/driver/index.js';
import { MqttAsyncRecordBuilder } from '../../../lib/nest/index.js';
import { MqttAsyncRpcError } from '../../../lib/testing/index.js';
import {
  AckController,
  EventsController,
  eventually,
  gate,
  RpcController,
  SharedController,
  seen,
  seenBy,
  startApp,
} from './app.js';
import type { World, WorldFactory } from './world.js';

const topicsOf = (handler: string) => seenBy(handler).map((s) => s.topic);

/** The error object of a rejected request. */
async function rpcError(promise: Promise<unknown>): Promise<unknown> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MqttAsyncRpcError);
  return (err as MqttAsyncRpcError).error;
}

export interface ScenarioOptions {
  /** Protocol versions to run (default both); RabbitMQ 3.x has 3.1.1 only. */
  versions?: readonly (4 | 5)[];
  /** Scenario name → why this broker cannot pass it (registered as skipped with that reason). */
  unsupported?: Readonly<Record<string, string>>;
}

/**
 * The transport's end-to-end scenarios, written once. `memory.spec.ts` runs them on the in-memory broker and
 * `mosquitto.spec.ts` on a real mosquitto: the same expectations must hold on both (shared-group split aside).
 */
export function runScenarios(makeWorld: WorldFactory, options: ScenarioOptions = {}): void {
  // Scenarios a broker cannot pass are registered skipped, their reason in the title (exempt from REQUIRE_BROKERS).
  const it = (name: string, fn: () => Promise<void>) => {
    const reason = options.unsupported?.[name];
    return reason ? jestIt.skip(`${name} — ${reason} (expected skip)`, fn) : jestIt(name, fn);
  };
  describe.each(options.versions ?? ([5, 4] as const))('MQTT %s', (version) => {
    let world: World;
    beforeEach(async () => {
      seen.length = 0;
      world = await makeWorld(version);
    });
    afterEach(async () => {
      await world.close();
    });

    it('fills {name} and :name params from the real topic; + stays unnamed', async () => {
      await startApp(world, [EventsController]);
      await world.publish('typed/x/y/z', { k: 1 });
      await world.publish('sensors/t1/temperature', 21.5);
      expect(seenBy('typed')).toEqual([expect.objectContaining({ params: { a: 'x', b: 'y' }, data: { k: 1 } })]);
      expect(seenBy('temperature')).toEqual([expect.objectContaining({ params: { deviceId: 't1' }, data: 21.5 })]);
    });

    it('routes an RPC to exactly one handler, the most specific', async () => {
      const { handled } = await startApp(world, [RpcController]);
      expect(await world.request('devices/special/cmd', {})).toEqual({ special: true });
      expect(await world.request('devices/t1/cmd', { op: 'ping' })).toEqual({
        id: 't1',
        op: 'ping',
        pattern: 'devices/{id}/cmd',
      });
      expect(await world.request('devices/t1/status', {})).toEqual({ fallback: 'devices/t1/status' });
      expect(handled.filter((h) => h.error !== undefined)).toEqual([]);
    });

    it('delivers an event to every matching handler, once each', async () => {
      await startApp(world, [EventsController]);
      await world.publish('sensors/t1/temperature', 21.5);
      await world.publish('sensors/t1/humidity', 40);
      expect(seen.map((s) => [s.handler, s.topic, s.data]).sort()).toEqual([
        ['everything', 'sensors/t1/humidity', 40],
        ['everything', 'sensors/t1/temperature', 21.5],
        ['temperature', 'sensors/t1/temperature', 21.5],
      ]);
    });

    // Overlapping filters of one group get their own subscription identifiers; each message still reaches every
    // matching handler once.
    it('delivers to handlers whose patterns overlap without covering each other', async () => {
      await startApp(world, [EventsController]);
      await world.publish('overlap/b/c', 1);
      await world.publish('overlap/x/c', 2);
      await world.publish('overlap/b/d', 3);
      expect(seen.map((s) => [s.handler, s.data]).sort()).toEqual([
        ['overlapB', 1],
        ['overlapB', 3],
        ['overlapC', 1],
        ['overlapC', 2],
      ]);
    });

    it('replies with results, streams, and error replies', async () => {
      await startApp(world, [RpcController]);
      expect(await world.request('math/add', [1, 2, 3])).toBe(6);
      expect(await world.request('stream/count', 3)).toBe(3);
      expect(await rpcError(world.request('math/fail', [1]))).toEqual({
        status: 'error',
        message: 'Internal server error',
      });
      expect(await rpcError(world.request('math/rpc-fail', [1]))).toEqual({
        code: 'E_MATH',
        message: 'cannot do that',
      });
    });

    it('serves ClientMqttAsync send() and emit() with record options', async () => {
      await startApp(world, [RpcController, EventsController]);
      const client = world.createClient({ requestTimeout: 5000 });
      await client.connect();
      expect(await firstValueFrom(client.send('math/add', [2, 2]))).toBe(4);
      await expect(firstValueFrom(client.send('math/rpc-fail', []))).rejects.toEqual({
        code: 'E_MATH',
        message: 'cannot do that',
      });
      const record = new MqttAsyncRecordBuilder(30).setQos(1).setUserProperties({ k: 'v' }).build();
      await lastValueFrom(client.emit('sensors/t9/temperature', record), { defaultValue: undefined });
      await eventually(() => seen.length === 2, 'both handlers of the emitted event');
      const expectedProps = version === 5 ? { k: 'v' } : {};
      expect(seenBy('temperature')).toEqual([
        expect.objectContaining({ data: 30, qos: 1, userProperties: expectedProps }),
      ]);
    });

    it('answers failed validation with an error reply and dead-letters bad events', async () => {
      await startApp(world, [RpcController, EventsController], { deadLetterTopic: 'dead/letters' });
      const error = await rpcError(world.request('devices/t1/cmd', { op: 'dance' }));
      expect(error).toMatchObject({ status: 'error', statusCode: 400 });
      expect(JSON.stringify(error)).toContain('op must be one of the following values');
      await world.publish('strict/1', { op: 'dance' });
      const outside = await world.connect();
      await outside.publish('payload/bad', '{"not json', { qos: 1 });
      const dead = await world.waitFor((r) => r.topic === 'dead/letters' && r.rawPayload.toString() === '{"not json');
      expect(dead.userProperties).toEqual(
        version === 5 ? expect.objectContaining({ 'nest-mqtt-async:original-topic': 'payload/bad' }) : {},
      );
      const invalid = await world.waitFor(
        (r) => r.topic === 'dead/letters' && r.rawPayload.toString() === '{"op":"dance"}',
      );
      expect(invalid.qos).toBe(1);
      expect(seenBy('strict')).toEqual([]);
      expect(seenBy('payload')).toEqual([]);
      if (version === 5) {
        const reply = await outside.request('devices/t1/cmd', '{"op": reboot', { qos: 1, timeout: 5000 });
        expect(reply.userProperties['nest-mqtt-async:error']).toBe('1');
        expect(JSON.parse(reply.payload.toString()).err.message).toMatch(/not valid JSON/);
      }
    });

    it('keeps payloads as sent: JSON, text, bytes, and JSON without a Content Type', async () => {
      await startApp(world, [EventsController]);
      await world.publish('payload/json', { a: { data: 1 } });
      await world.publish('payload/text', 'hello');
      await world.publish('payload/bin', Buffer.from([0xff, 0x00, 0x01]));
      const outside = await world.connect();
      for (const raw of ['42', 'plain words', '{"data":1}']) await outside.publish('payload/raw', raw, { qos: 1 });
      await eventually(() => seenBy('payload').length === 6, 'six payload events');
      expect(seenBy('payload').map((s) => s.data)).toEqual([
        { a: { data: 1 } },
        'hello',
        Buffer.from([0xff, 0x00, 0x01]),
        42,
        'plain words',
        { data: 1 },
      ]);
      expect(seenBy('payload').map((s) => s.contentType)).toEqual(
        version === 5
          ? ['application/json', 'text/plain; charset=utf-8', undefined, undefined, undefined, undefined]
          : [undefined, undefined, undefined, undefined, undefined, undefined],
      );
    });

    it('delivers with QoS = min(publish, subscription) and passes user properties on MQTT 5 only', async () => {
      await startApp(world, [EventsController]);
      await world.publish('qos0/a', 1, { qos: 2 });
      await world.publish('payload/q2', 2, { qos: 2, userProperties: { k: 'v' } });
      await world.publish('payload/q0', 3, { qos: 0 });
      expect(seen.map((s) => [s.handler, s.qos])).toEqual([
        ['qos0', 0],
        ['payload', 1],
        ['payload', 0],
      ]);
      expect(seenBy('payload')[0]!.userProperties).toEqual(version === 5 ? { k: 'v' } : {});
    });

    it('sends retained messages to new subscriptions (per Retain Handling), flagged as retained', async () => {
      await world.publish('retained/a', 'kept', { retain: true });
      await world.publish('retained-never/a', 'kept', { retain: true });
      await startApp(world, [EventsController]);
      await eventually(() => seenBy('retained').length === 1, 'the retained message');
      await world.publish('retained/a', 'live');
      await world.publish('retained-never/b', 'live');
      expect(seenBy('retained').map((s) => [s.data, s.retained])).toEqual([
        ['kept', true],
        ['live', false],
      ]);
      // Retain Handling 2 is MQTT 5; a 3.1.1 subscription always gets retained messages.
      expect(seenBy('retainedNever').map((s) => s.data)).toEqual(version === 5 ? ['live'] : ['kept', 'live']);
    });

    it('runs up to `concurrency` handlers at once, and one at a time in order by default', async () => {
      await startApp(world, [EventsController]);
      gate.reset();
      await Promise.all([1, 2, 3].map((n) => world.publish(`slow/${n}`, n)));
      expect(gate.max).toBe(3);
      await Promise.all([0, 1, 2, 3, 4, 5].map((n) => world.publish(`ordered/${n}`, { n })));
      expect(seenBy('ordered').map((s) => (s.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('acks auto/after/manual: only unacknowledged messages come back to a resumed session', async () => {
      const session = { clientId: `acks-${version}-${Date.now()}`, cleanStart: false, sessionExpiryInterval: 300 };
      const first = await startApp(world, [AckController], session);
      await world.publish('jobs/auto/1', {});
      await world.publish('jobs/after/1', { fail: true });
      await world.publish('jobs/manual/1', { ack: true });
      await world.publish('jobs/manual/2', { ack: false });
      if (world.unacked) expect(world.unacked().map((u) => u.topic)).toEqual(['jobs/manual/2']);
      await first.app.close();
      await world.publish('jobs/manual/3', { ack: false }); // queued for the absent session
      await startApp(world, [AckController], session);
      await eventually(() => seenBy('manual').length === 4, 'redelivery of the unacknowledged message');
      await world.publish('jobs/auto/2', {});
      await world.publish('jobs/after/2', {});
      expect(topicsOf('auto')).toEqual(['jobs/auto/1', 'jobs/auto/2']);
      expect(topicsOf('after')).toEqual(['jobs/after/1', 'jobs/after/2']);
      // RabbitMQ can still hand jobs/manual/3 to the closing connection (its DISCONNECT not yet processed); it
      // then comes back as a redelivery, rightly flagged DUP (MQTT 4.3.1). mosquitto and the in-memory broker
      // queue it for the absent session: a first delivery.
      expect(seenBy('manual').map((s) => [s.topic, s.dup])).toEqual([
        ['jobs/manual/1', false],
        ['jobs/manual/2', false],
        ['jobs/manual/2', true],
        ['jobs/manual/3', world.kind === 'rabbitmq' ? expect.any(Boolean) : false],
      ]);
      if (world.unacked) expect(world.unacked().map((u) => u.topic)).toEqual(['jobs/manual/2', 'jobs/manual/3']);
    });

    it('close() lets a running handler finish and sends its ack: nothing comes back to the resumed session', async () => {
      const session = { clientId: `close-${version}-${Date.now()}`, cleanStart: false, sessionExpiryInterval: 300 };
      const first = await startApp(world, [AckController], session);
      gate.reset();
      const handled = world.publish('jobs/gated/1', 1);
      await eventually(() => gate.inside === 1, 'the handler to start');
      const closing = first.app.close();
      gate.release?.();
      await closing;
      await handled;
      if (world.unacked) expect(world.unacked()).toEqual([]);
      await startApp(world, [AckController], session);
      await world.publish('jobs/gated/2', 2);
      expect(seenBy('gated').map((s) => [s.topic, s.dup])).toEqual([
        ['jobs/gated/1', false],
        ['jobs/gated/2', false],
      ]);
    });

    it('runs a @MessagePattern handler for a message without Response Topic; the result goes nowhere', async () => {
      const { handled } = await startApp(world, [RpcController]);
      await world.publish('math/add', [1, 2]);
      expect(handled.map((h) => [h.topic, h.error])).toEqual([['math/add', undefined]]);
      await world.publish('devices/special/cmd', {});
      expect(handled).toHaveLength(2);
    });

    it('gives each message of a shared group to exactly one member', async () => {
      const a = await startApp(world, [SharedController]);
      const b = await startApp(world, [SharedController]);
      for (let n = 0; n < 10; n++) await world.publish(`work/${n}`, n);
      expect(topicsOf('work').sort()).toEqual([...Array(10).keys()].map((n) => `work/${n}`).sort());
      expect(a.handled.length + b.handled.length).toBe(10);
    });

    it('follows the protocol version for request/response', async () => {
      await startApp(world, [RpcController]);
      if (version === 4) {
        await expect(world.request('math/add', [1], { wire: 'mqtt5' })).rejects.toThrow(
          'MQTT 3.1.1 has no response topics',
        );
        expect(await world.request('math/add', [1, 1], { wire: 'nest' })).toBe(2);
      } else {
        const outside: MqttDriverClient = await world.connect();
        const reply = await outside.request('math/add', '[5,5]', { qos: 1, timeout: 5000 });
        expect(reply.payload.toString()).toBe('10');
        expect(reply.properties.contentType).toBe('application/json');
        // Nest's wire format is opt-in on MQTT 5.
        await startApp(world, [RpcController], { nestWireFormat: true, clientId: `nest-wire-${Date.now()}` });
        expect(await world.request('math/add', [2, 3], { wire: 'nest' })).toBe(5);
      }
    });
  });
}
