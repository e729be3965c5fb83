import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { MqttClient } from 'mqtt';
import { type MqttAsyncContext, TopicParam } from '../../../lib/nest/index.js';
import { describeIf, hasMosquitto, type RunningBroker, startMosquitto } from '../../support/mosquitto.js';
import { outsideClient, type StartedApp, startApp } from './helpers.js';

const suite = describeIf(hasMosquitto, 'mosquitto');

const TOTAL = 30_000;

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
    while (total() < TOTAL) await new Promise((r) => setTimeout(r, 50));
    const seen = new Map<number, number>();
    for (const app of apps) {
      for (const h of app.handled) {
        expect(h.error).toBeUndefined();
        const n = JSON.parse(h.message.payload.toString()).n as number;
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(TOTAL);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(apps.every((a) => a.handled.length > 0)).toBe(true);
    // settle a moment to catch late duplicates
    await new Promise((r) => setTimeout(r, 200));
    expect(total()).toBe(TOTAL);
  }, 60_000);
});
