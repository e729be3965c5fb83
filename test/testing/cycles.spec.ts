import { describe, expect, it } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { MqttAsyncContext, TopicParam } from '../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../lib/testing/index.js';

const handled: string[] = [];

@Controller()
class CycleController {
  @MessagePattern('cycle/{n}/echo')
  echo(@Payload() body: { v: number }, @TopicParam('n') n: string) {
    return { n, v: body.v };
  }

  @EventPattern<string>('cycle/{n}/event', { qos: 1, ack: 'manual' })
  async event(@TopicParam('n') n: string, @Ctx() ctx: MqttAsyncContext) {
    await new Promise((resolve) => setImmediate(resolve));
    handled.push(n);
    await ctx.ack();
  }
}

@Module({ controllers: [CycleController] })
class CycleModule {}

/** Active handles/requests counted by type. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Types of which more are active now than in `before` (what the test left open). */
function leftOpen(before: Record<string, number>): Record<string, number> {
  const now = resources();
  return Object.fromEntries(Object.entries(now).filter(([type, n]) => n > (before[type] ?? 0)));
}

describe('100 start/stop cycles of a Nest app on the in-memory broker', () => {
  it('handles, replies, closes cleanly each time and leaves no resources behind', async () => {
    const before = resources();
    const broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
    for (let i = 0; i < 100; i++) {
      const moduleRef = await Test.createTestingModule({ imports: [CycleModule] }).compile();
      const app = moduleRef.createNestMicroservice({ strategy: broker.createServer(), logger: false });
      await app.listen();
      await broker.publish(`cycle/${i}/event`, { i });
      expect(handled.at(-1)).toBe(String(i));
      expect(await broker.request(`cycle/${i}/echo`, { v: i })).toEqual({ n: String(i), v: i });
      await app.close();
    }
    expect(handled).toHaveLength(100);
    expect(broker.unacked()).toEqual([]);
    await broker.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(leftOpen(before)).toEqual({});
  });

  it('does the same with a fresh broker per cycle on MQTT 3.1.1', async () => {
    const before = resources();
    for (let i = 0; i < 100; i++) {
      const broker = new MqttAsyncTestBroker({ protocolVersion: 4 });
      const moduleRef = await Test.createTestingModule({ imports: [CycleModule] }).compile();
      const app = moduleRef.createNestMicroservice({ strategy: broker.createServer(), logger: false });
      await app.listen();
      expect(await broker.request(`cycle/${i}/echo`, { v: i })).toEqual({ n: String(i), v: i });
      await app.close();
      await broker.close();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(leftOpen(before)).toEqual({});
  });
});
