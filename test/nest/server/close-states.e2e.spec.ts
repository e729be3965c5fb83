/**
 * ServerMqttAsync.close() in every connection state resolves promptly (the bound only detects a hang), and a
 * listen() still connecting is aborted with MqttAsyncServerClosedError instead of running on after close().
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { MqttAsyncServerClosedError, ServerMqttAsync } from '../../../lib/nest/index.js';
import { type FakeBroker, startFakeBroker } from '../../support/fake-broker.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { freePort } from '../../support/ports.js';
import { settleWithin, waitUntil } from '../../support/settle.js';

/** Far above the < 1 s close() must take, far below the hangs it catches (backoff waits, connectTimeout). */
const HANG_MS = 3000;
const LONG_BACKOFF = { maxAttempts: 1000, initialDelay: 10_000, maxDelay: 10_000 };

const servers: ServerMqttAsync[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close().catch(() => undefined);
});

function serverWithStatuses(options: ConstructorParameters<typeof ServerMqttAsync>[0]) {
  const server = new ServerMqttAsync(options);
  servers.push(server);
  const statuses: string[] = [];
  server.status.subscribe((s) => statuses.push(s));
  const listening = new Promise<void>((resolve, reject) => server.listen((err) => (err ? reject(err) : resolve())));
  return { server, statuses, listening };
}

async function expectPromptClose(server: ServerMqttAsync, statuses: string[]): Promise<void> {
  const closed = await settleWithin(server.close(), HANG_MS, 'close()');
  expect(closed.error).toBeUndefined();
  expect(statuses.at(-1)).toBe('closed');
}

describe('ServerMqttAsync.close() without a connection', () => {
  it('never listened: resolves', async () => {
    const server = new ServerMqttAsync({ url: `mqtt://127.0.0.1:${await freePort()}` });
    servers.push(server);
    expect((await settleWithin(server.close(), HANG_MS, 'close()')).error).toBeUndefined();
  });

  it('connecting to a broker that is down (listen() still retrying): aborts it, listen() fails as closed', async () => {
    const { server, statuses, listening } = serverWithStatuses({
      url: `mqtt://127.0.0.1:${await freePort()}`,
      reconnect: LONG_BACKOFF,
    });
    let attempts = 0;
    server.on('reconnecting', () => attempts++);
    const listened = settleWithin(listening, HANG_MS * 2, 'listen()');
    await waitUntil(() => attempts >= 1, 5000, 'a first failed attempt');
    await expectPromptClose(server, statuses);
    expect((await listened).error).toBeInstanceOf(MqttAsyncServerClosedError);
  });

  describe('with a broker that accepts TCP but never answers CONNECT', () => {
    let fake: FakeBroker;
    afterEach(async () => {
      await fake?.stop();
    });

    it('connecting (waiting for CONNACK): aborts the attempt, listen() fails as closed', async () => {
      fake = await startFakeBroker();
      const { server, statuses, listening } = serverWithStatuses({ url: fake.url, connectTimeout: 60_000 });
      const listened = settleWithin(listening, HANG_MS * 2, 'listen()');
      const conn = await fake.nextConnection();
      await conn.next('connect');
      await expectPromptClose(server, statuses);
      expect((await listened).error).toBeInstanceOf(MqttAsyncServerClosedError);
      await conn.closed;
    });
  });
});

describeMosquitto('ServerMqttAsync.close() with mosquitto', () => {
  let broker: MosquittoHandle | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('connected: resolves', async () => {
    broker = await startMosquitto();
    const { server, statuses, listening } = serverWithStatuses({ url: broker.url });
    await listening;
    await expectPromptClose(server, statuses);
  });

  it('reconnecting (broker gone after listen()): resolves', async () => {
    broker = await startMosquitto();
    const { server, statuses, listening } = serverWithStatuses({ url: broker.url, reconnect: LONG_BACKOFF });
    await listening;
    await broker.stop();
    await waitUntil(() => statuses.at(-1) === 'reconnecting', 5000, 'reconnecting');
    await expectPromptClose(server, statuses);
  });
});
