import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { MqttClient } from 'mqtt';
import { type MqttAsyncContext, TopicParam } from '../../../lib/nest/index.js';
import { eventually } from '../../support/eventually.js';
import { describeIf, hasMosquitto, type RunningBroker, startMosquitto } from '../../support/mosquitto.js';
import { outsideClient, type StartedApp, startApp } from './helpers.js';

const suite = describeIf(hasMosquitto, 'mosquitto');

const TOTAL = 30_000;
const SENTINEL = -1;

@Controller()
class JobsController {
  @EventPattern<string>('workers/jobs/{kind}', { shared: 'pool-a', qos: 1, concurrency: 5, ack: 'manual' })
  async job(@Payload() job: { n: number }, @TopicParam('kind') kind: string, @Ctx() ctx: MqttAsyncContext) {
    try {
      if (kind !== 'resize' || typeof job.n !== 'number') throw new Error(`bad job ${kind}`);
    } finally {
      await ctx.ack();
    }
  }
}

suite('three ServerMqttAsync instances in one shared group on mosquitto', () => {
  let broker: RunningBroker;
  const apps: StartedApp[] = [];
  let publisher: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    for (let i = 0; i < 3; i++) apps.push(await startApp([JobsController], { url: broker.url, protocolVersion: 5 }));
    publisher = await outsideClient(broker.url);
  });

  afterAll(async () => {
    await publisher?.endAsync();
    for (const app of apps) await app.app.close();
    await broker?.stop();
  });

  it(`handles ${TOTAL} QoS 1 messages exactly once across the group`, async () => {
    const publishes: Promise<unknown>[] = [];
    for (let n = 0; n < TOTAL; n++)
      publishes.push(publisher.publishAsync('workers/jobs/resize', `{"n":${n}}`, { qos: 1 }));
    await Promise.all(publishes);
    const total = () => apps.reduce((sum, a) => sum + a.handled.length, 0);
    await eventually(
      () => total() >= TOTAL,
      () => `${total()} of ${TOTAL} handled`,
      50_000,
      50,
    );
    // A sentinel handled by every member: each member's messages keep the publisher's order, so a late duplicate
    // would have reached it before its sentinel.
    const jobOf = (h: StartedApp['handled'][number]) => JSON.parse(h.message.payload.toString()).n as number;
    const from = apps.map((a) => a.handled.length);
    const sentinels = () => apps.map((a, k) => a.handled.slice(from[k]).filter((h) => jobOf(h) === SENTINEL).length);
    for (let i = 0; sentinels().some((count) => count === 0); i++) {
      if (i >= 30) throw new Error(`a member never got a sentinel: ${sentinels()}`);
      const before = sentinels().reduce((a, b) => a + b, 0);
      await publisher.publishAsync('workers/jobs/resize', `{"n":${SENTINEL}}`, { qos: 1 });
      await eventually(() => sentinels().reduce((a, b) => a + b, 0) > before, 'the sentinel handled', 10_000);
    }
    const seen = new Map<number, number>();
    for (const app of apps) {
      for (const h of app.handled) {
        expect(h.error).toBeUndefined();
        const n = jobOf(h);
        if (n !== SENTINEL) seen.set(n, (seen.get(n) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(TOTAL);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(apps.every((a) => a.handled.some((h) => jobOf(h) !== SENTINEL))).toBe(true);
  }, 60_000);
});
