/**
 * `server.subscribe(pattern, handler, options)` on the in-memory broker: patterns known only at runtime get the
 * routing (params, wildcards), options validation, acks and concurrency of decorated handlers; RPC handlers
 * answer; `unsubscribe()` stops the handler and leaves other handlers' subscriptions (the same filter included)
 * alone; registrations made before `listen()` and kept across `close()` / `listen()`.
 */
import { afterEach, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import {
  type MqttAsyncContext,
  MqttAsyncPatternError,
  type MqttAsyncServerOptions,
  type ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { until } from '../../support/messages.js';

const decorated: string[] = [];

@Controller()
class DevicesController {
  @EventPattern<string>('devices/{id}/temp')
  temp(@Payload() t: number) {
    decorated.push(`temp ${t}`);
  }

  @MessagePattern<string>('calc/+')
  calc() {
    return 'decorated';
  }
}

let broker: MqttAsyncTestBroker;
let app: INestMicroservice | undefined;

afterEach(async () => {
  await app?.close();
  await broker?.close();
  app = undefined;
  decorated.length = 0;
});

async function start(options: Partial<MqttAsyncServerOptions> = {}, listen = true): Promise<ServerMqttAsync> {
  broker = new MqttAsyncTestBroker();
  const server = broker.createServer(options);
  const moduleRef = await Test.createTestingModule({ controllers: [DevicesController] }).compile();
  app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
  if (listen) await app.listen();
  return server;
}

it('routes with params and wildcards, next to a decorated handler of the same filter', async () => {
  const server = await start();
  const seen: unknown[] = [];
  await server.subscribe('devices/{id}/temp', (t, ctx) => {
    seen.push([ctx.getParams(), ctx.getPattern(), t]);
  });
  await server.subscribe('devices/#', (t, ctx) => {
    seen.push([ctx.getTopic(), t]);
  });
  await broker.publish('devices/d1/temp', 21);
  expect(seen).toEqual([
    [{ id: 'd1' }, 'devices/{id}/temp', 21],
    ['devices/d1/temp', 21],
  ]);
  expect(decorated).toEqual(['temp 21']);
});

it("kind: 'message' answers requests; an RPC route overlapping another is refused", async () => {
  const server = await start();
  await server.subscribe(
    'sum/{a}',
    (numbers, ctx) => (numbers as number[]).reduce((x, y) => x + y, 0) + ctx.getParams().a!.length,
    {
      kind: 'message',
    },
  );
  expect(await broker.request('sum/xy', [1, 2])).toBe(5);
  await expect(server.subscribe('calc/sum', () => 'runtime', { kind: 'message' })).rejects.toThrow(
    /overlaps the RPC route 'calc\/\+'/,
  );
  expect(await broker.request('calc/sum', 1)).toBe('decorated');
  // As events, overlapping is fine: both run.
  const seen: unknown[] = [];
  await server.subscribe('calc/sum', (n) => {
    seen.push(n);
  });
  expect(await broker.request('calc/sum', 7)).toBe('decorated');
  expect(seen).toEqual([7]);
});

it('validates pattern and options like decorated handlers', async () => {
  const server = await start();
  await expect(server.subscribe('a/b', () => undefined, { acks: 'manual' } as never)).rejects.toThrow(
    /unknown option 'acks' \(did you mean 'ack'\?\)/,
  );
  await expect(server.subscribe('a/#/b', () => undefined)).rejects.toBeInstanceOf(MqttAsyncPatternError);
  await expect(server.subscribe('a/b', () => undefined, { concurrency: 0 })).rejects.toThrow(/concurrency/);
  await expect(server.subscribe('a/b', () => undefined, { kind: 'rpc' } as never)).rejects.toMatchObject({
    name: 'MqttAsyncPatternError',
    message: expect.stringMatching(/kind must be/),
  });
});

it('manual acks and concurrency as configured', async () => {
  const server = await start();
  const contexts: MqttAsyncContext[] = [];
  let running = 0;
  let most = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  await server.subscribe(
    'jobs/{n}',
    async (_n, ctx) => {
      running++;
      most = Math.max(most, running);
      contexts.push(ctx);
      await gate;
      running--;
    },
    { ack: 'manual', concurrency: 2, qos: 1 },
  );
  const client = await broker.connect();
  for (const n of [1, 2, 3]) await client.publish(`jobs/${n}`, String(n), { qos: 1 });
  await until(() => contexts.length === 2, 5000, 'two jobs running');
  expect(running).toBe(2);
  release();
  await until(() => contexts.length === 3 && running === 0, 5000, 'the third job');
  expect(most).toBe(2);
  expect(broker.unacked('jobs/#')).toHaveLength(3); // manual: nothing acknowledged yet
  for (const ctx of contexts) await ctx.ack();
  await until(() => broker.unacked('jobs/#').length === 0, 5000, 'the acks');
});

it('unsubscribe() stops the handler and keeps the filter another handler needs', async () => {
  const server = await start();
  const seen: unknown[] = [];
  const handle = await server.subscribe('devices/+/temp', (t) => {
    seen.push(t);
  });
  await broker.publish('devices/d1/temp', 1);
  await handle.unsubscribe();
  await handle.unsubscribe(); // idempotent
  await broker.publish('devices/d1/temp', 2);
  expect(seen).toEqual([1]);
  expect(decorated).toEqual(['temp 1', 'temp 2']);
});

it('registered before listen(), and kept across close() and listen()', async () => {
  const server = await start({}, false);
  const seen: unknown[] = [];
  await server.subscribe('early/{x}', (v) => {
    seen.push(v);
  });
  await app!.listen();
  await broker.publish('early/a', 1);
  await server.close();
  await new Promise<void>((resolve, reject) => server.listen((err) => (err ? reject(err) : resolve())));
  await broker.publish('early/a', 2);
  expect(seen).toEqual([1, 2]);
});
