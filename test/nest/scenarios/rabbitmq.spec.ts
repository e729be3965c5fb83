import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import { describeRabbitmq, type RabbitmqHandle, startRabbitmq } from '../../support/rabbitmq.js';
import { EventsController, eventually, RpcController, seen, seenBy, startApp } from './app.js';
import { runScenarios } from './suite.js';
import { brokerWorld, type World } from './world.js';

// One node for the file (boot takes 5–20 s); each scenario gets its own world (clients) on it. MQTT 3.1.1 only.
describeRabbitmq('transport scenarios on RabbitMQ', () => {
  let rabbit: RabbitmqHandle;
  beforeAll(async () => {
    rabbit = await startRabbitmq();
  }, 120_000);
  afterAll(() => rabbit?.stop(), 30_000);
  const makeWorld = (version: 4 | 5) => brokerWorld('rabbitmq', rabbit.url, version, async () => undefined);

  runScenarios(makeWorld, {
    versions: [4],
    unsupported: {
      'delivers with QoS = min(publish, subscription) and passes user properties on MQTT 5 only':
        'no QoS 2 in RabbitMQ 3.x (a QoS 2 publish rejects, see test/interop/rabbitmq.spec.ts)',
      'sends retained messages to new subscriptions (per Retain Handling), flagged as retained':
        'RabbitMQ 3.x sends retained messages only to filters without wildcards',
      'gives each message of a shared group to exactly one member': 'no shared subscriptions in RabbitMQ 3.x',
    },
  });

  describe('under load (MQTT 3.1.1)', () => {
    let world: World;
    afterAll(() => world?.close());

    it('500 concurrent RPCs with params, then 1,000 QoS 1 events handled in order', async () => {
      seen.length = 0;
      world = await makeWorld(4);
      await startApp(world, [RpcController, EventsController]);
      const client = world.createClient({ requestTimeout: 20_000 });
      await client.connect();
      const ids = Array.from({ length: 500 }, (_, i) => `d${i}`);
      const op = (i: number) => (i % 2 ? 'ping' : 'reboot');
      const replies = await Promise.all(
        ids.map((id, i) => firstValueFrom(client.send(`devices/${id}/cmd`, { op: op(i) }))),
      );
      expect(replies).toEqual(ids.map((id, i) => ({ id, op: op(i), pattern: 'devices/{id}/cmd' })));
      const publisher = await world.connect();
      await Promise.all(
        Array.from({ length: 1000 }, (_, n) => publisher.publish('ordered/x', JSON.stringify({ n }), { qos: 1 })),
      );
      await eventually(() => seenBy('ordered').length === 1000, '1,000 handled events', 30_000);
      expect(seenBy('ordered').map((s) => (s.data as { n: number }).n)).toEqual([...Array(1000).keys()]);
    }, 60_000);
  });
});
