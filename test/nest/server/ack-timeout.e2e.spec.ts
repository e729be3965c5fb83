/** ackTimeout / onAckTimeout (issue 11): a manual-ack message held too long is visible, and optionally settled. */
import { afterEach, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice, type LoggerService } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { MqttAsyncContext } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { eventually as until } from '../../support/eventually.js';

@Controller()
class StuckController {
  /** Forgets to settle message 0; the watch nacks it after 100 ms so the acks behind it leave. */
  @EventPattern<string>('stuck/{id}', { qos: 1, ack: 'manual', concurrency: 5, ackTimeout: 100, onAckTimeout: 'nack' })
  async stuck(@Payload() job: { n: number }, @Ctx() ctx: MqttAsyncContext) {
    if (job.n !== 0) await ctx.ack();
  }

  /** The server's default watch (ackTimeout 100 ms below, action 'warn'): reported, still waiting. */
  @EventPattern<string>('held/{id}', { qos: 1, ack: 'manual', concurrency: 5 })
  held(@Payload() job: { n: number }, @Ctx() ctx: MqttAsyncContext) {
    if (job.n !== 0) void ctx.ack();
  }
}

class Warnings implements LoggerService {
  readonly lines: string[] = [];
  log() {}
  error() {}
  warn(message: unknown) {
    this.lines.push(String(message));
  }
}

let broker: MqttAsyncTestBroker;
let app: INestMicroservice;
const logger = new Warnings();

async function start(): Promise<void> {
  broker = new MqttAsyncTestBroker();
  const moduleRef = await Test.createTestingModule({ controllers: [StuckController] }).compile();
  app = moduleRef.createNestMicroservice({
    strategy: broker.createServer({ ackTimeout: 100, shutdownTimeout: 200 }),
    logger,
  });
  await app.listen();
}

/** Publishes `<prefix>/0..last` from a raw client (not waiting for handlers: held acks keep them waiting). */
async function publish(prefix: string, last: number): Promise<void> {
  const client = await broker.connect();
  for (let n = 0; n <= last; n++) await client.publish(`${prefix}/${n}`, JSON.stringify({ n }), { qos: 1 });
  await until(() => broker.unacked(`${prefix}/#`).length > 0, 'the deliveries');
}

afterEach(async () => {
  await app.close();
  await broker.close();
  logger.lines.length = 0;
});

it("onAckTimeout: 'nack' — the stuck message is reported with topic, age and the acks behind it, then settled", async () => {
  await start();
  await publish('stuck', 3);
  await until(() => broker.unacked('stuck/#').length === 0, 'the nack of stuck/0 and the acks behind it');
  const line = logger.lines.find((l) => l.includes("'stuck/0'"));
  expect(line).toMatch(/not settled after \d+ ms \(ackTimeout 100 ms\); 3 ack\(s\) wait behind it; nacked/);
});

it("the server's ackTimeout is the default; 'warn' (default) reports once and keeps waiting", async () => {
  await start();
  await publish('held', 2);
  await until(() => logger.lines.some((l) => l.includes("'held/0'")), 'the WARN');
  expect(logger.lines.find((l) => l.includes("'held/0'"))).toMatch(/2 ack\(s\) wait behind it; still waiting/);
  expect(broker.unacked('held/#')).toHaveLength(3);
});
