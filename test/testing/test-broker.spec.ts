import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, type INestMicroservice, Inject, Module } from '@nestjs/common';
import { type ClientProxy, Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import { MqttTimeoutError } from '../../lib/driver/index.js';
import type { MqttAsyncContext, MqttAsyncServerOptions } from '../../lib/nest/index.js';
import { MqttAsyncRpcError, MqttAsyncTestBroker } from '../../lib/testing/index.js';

const log: string[] = [];
let hang: Promise<void> = new Promise(() => {});

@Controller()
class FlowController {
  constructor(@Inject('MQTT') private readonly mqtt: ClientProxy) {}

  @EventPattern<string>('flow/slow')
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, 20));
    log.push('slow');
  }

  @EventPattern<string>('flow/start')
  start(@Payload() n: number) {
    log.push(`start ${n}`);
    this.mqtt.emit('flow/next', n + 1); // not awaited: publish() still waits for what it triggers
  }

  @EventPattern<string>('flow/next')
  async next(@Payload() n: number) {
    await new Promise((resolve) => setImmediate(resolve));
    log.push(`next ${n}`);
  }

  @EventPattern<string>('flow/hang')
  async hangs() {
    await hang;
  }

  @EventPattern<string>('jobs/{id}', { qos: 1, ack: 'manual' })
  async job(@Payload() job: { ack?: boolean; nack?: boolean }, @Ctx() ctx: MqttAsyncContext) {
    if (job.ack) await ctx.ack();
    if (job.nack) await ctx.nack(0x83);
  }

  /** The README's headline pattern: one undecodable message must not wedge the ones behind it. */
  @EventPattern<string>('pool/{id}', { qos: 1, ack: 'manual', concurrency: 2 })
  async pooled(@Payload() job: { n: number }, @Ctx() ctx: MqttAsyncContext) {
    try {
      log.push(`pool ${job.n}`);
    } finally {
      await ctx.ack();
    }
  }

  @EventPattern<string>('props/+')
  props(@Ctx() ctx: MqttAsyncContext) {
    log.push(JSON.stringify(ctx.getUserProperties()));
  }

  @MessagePattern('calc/double')
  double(@Payload() n: number) {
    if (typeof n !== 'number') throw new Error('not a number');
    return n * 2;
  }
}

@Module({ controllers: [FlowController] })
class FlowModule {}

let broker: MqttAsyncTestBroker;
let app: INestMicroservice;

async function start(version: 4 | 5 = 5, options: Partial<MqttAsyncServerOptions> = {}, settleTimeout?: number) {
  log.length = 0;
  broker = new MqttAsyncTestBroker({ protocolVersion: version, ...(settleTimeout ? { settleTimeout } : {}) });
  const moduleRef = await Test.createTestingModule({ imports: [FlowModule] })
    .useMocker((token) => (token === 'MQTT' ? broker.createClient() : undefined))
    .compile();
  app = moduleRef.createNestMicroservice({ strategy: broker.createServer(options), logger: false });
  await app.listen();
}

afterEach(async () => {
  await app.close();
  await broker.close();
});

describe('MqttAsyncTestBroker.publish()', () => {
  it('resolves after slow handlers and the handlers their messages triggered have settled', async () => {
    await start();
    await broker.publish('flow/slow', {});
    expect(log).toEqual(['slow']);
    await broker.publish('flow/start', 1);
    expect(log).toEqual(['slow', 'start 1', 'next 2']);
  });

  it('fails with a clear MqttTimeoutError when a handler never settles', async () => {
    await start(5, { shutdownTimeout: 20 }, 50);
    const err = await broker.publish('flow/hang', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttTimeoutError);
    expect((err as Error).message).toMatch(/still not handled after 50 ms \(topics: flow\/hang\)/);
    hang = Promise.resolve();
  });

  it('with the default settleTimeout, a stalled handler fails as a broker error within a 5 s test timeout', async () => {
    hang = new Promise(() => {});
    await start(5, { shutdownTimeout: 20 });
    const err = await broker.publish('flow/hang', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttTimeoutError);
    expect((err as Error).message).toMatch(/still not handled after \d+ ms \(topics: flow\/hang\)/);
    hang = Promise.resolve();
  }, 5000);

  it('settles an undecodable message like the real transport: the manual-ack messages behind it still flow', async () => {
    await start(5);
    await broker.publish('pool/0', Buffer.from('{"n": 1,'));
    for (let n = 1; n <= 20; n++) await broker.publish(`pool/${n}`, { n });
    expect(log.filter((l) => l.startsWith('pool'))).toHaveLength(20);
    expect(broker.unacked('pool/#')).toEqual([]);
  });
});

describe('MqttAsyncTestBroker.request()', () => {
  it('resolves with the reply and rejects with MqttAsyncRpcError carrying the server error', async () => {
    await start();
    expect(await broker.request('calc/double', 21)).toBe(42);
    const err = await broker.request('calc/double', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttAsyncRpcError);
    expect((err as MqttAsyncRpcError).error).toEqual({ status: 'error', message: 'Internal server error' });
  });

  it('times out when nothing answers', async () => {
    await start();
    await expect(broker.request('nobody/home', 1, { timeout: 30 })).rejects.toThrow(MqttTimeoutError);
  });

  it('uses the Nest wire format on a 3.1.1 broker, like ClientMqttAsync', async () => {
    await start(4);
    expect(await broker.request('calc/double', 4)).toBe(8);
    const client = broker.createClient();
    expect(await firstValueFrom(client.send('calc/double', 5))).toBe(10);
    expect(broker.published('calc/double/reply')).toHaveLength(2);
    await expect(broker.request('calc/double', 4, { wire: 'mqtt5' })).rejects.toThrow(
      'MQTT 3.1.1 has no response topics',
    );
  });
});

describe('acks and properties', () => {
  it('reports what a manual-ack handler did not acknowledge; a nack is an acknowledgement', async () => {
    await start();
    await broker.publish('jobs/1', { ack: true });
    await broker.publish('jobs/2', { ack: false });
    expect(broker.unacked()).toEqual([
      expect.objectContaining({ topic: 'jobs/2', payload: { ack: false }, qos: 1, dup: false }),
    ]);
    await broker.close();
    await start();
    await broker.publish('jobs/3', { nack: true });
    expect(broker.unacked()).toEqual([]);
  });

  it('passes user properties on MQTT 5 and drops them on 3.1.1', async () => {
    await start(5);
    await broker.publish('props/a', 1, { userProperties: { k: 'v' } });
    expect(log).toEqual(['{"k":"v"}']);
    await app.close();
    await broker.close();
    await start(4);
    await broker.publish('props/a', 1, { userProperties: { k: 'v' } });
    expect(log).toEqual(['{}']);
  });
});

describe('Nest testing setups', () => {
  it('keeps working under jest fake timers (Nest replies need the real process.nextTick)', async () => {
    await start();
    jest.useFakeTimers({ doNotFake: ['nextTick'] });
    try {
      await broker.publish('props/a', 7);
      expect(log).toEqual(['{}']);
      expect(await broker.request('calc/double', 2)).toBe(4);
      await expect(broker.waitFor('never', { timeout: 10 })).rejects.toThrow(MqttTimeoutError);
    } finally {
      jest.useRealTimers();
    }
  });

  it('runs a hybrid app: connectMicroservice + startAllMicroservices', async () => {
    log.length = 0;
    broker = new MqttAsyncTestBroker();
    const moduleRef = await Test.createTestingModule({ imports: [FlowModule] })
      .useMocker((token) => (token === 'MQTT' ? broker.createClient() : undefined))
      .compile();
    const http = moduleRef.createNestApplication({ logger: false });
    http.connectMicroservice({ strategy: broker.createServer() });
    await http.startAllMicroservices();
    await http.init();
    app = http as unknown as INestMicroservice;
    expect(await broker.request('calc/double', 8)).toBe(16);
  });
});

describe('close()', () => {
  it('closes the servers and clients it made; then refuses new clients', async () => {
    await start();
    const client = broker.createClient();
    await client.connect();
    await broker.close();
    await broker.close();
    expect(() => client.unwrap()).toThrow(/not connected/);
    await expect(broker.connect()).rejects.toThrow(/closed/);
  });
});
