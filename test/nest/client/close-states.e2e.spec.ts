/**
 * ClientMqttAsync.close() in every connection state: it resolves promptly (the bound here only detects a hang; the
 * figures are in the closing note) and settles everything pending with MqttAsyncClientClosedError.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Inject, Injectable } from '@nestjs/common';
import { type ClientProxy, ClientsModule } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { ClientMqttAsync, MqttAsyncClientClosedError } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { type FakeBroker, startFakeBroker } from '../../support/fake-broker.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { freePort } from '../../support/ports.js';
import { settleWithin, waitUntil } from '../../support/settle.js';

/** Far above the < 1 s close() must take, far below the hangs it catches (connect retries, connectTimeout). */
const HANG_MS = 3000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
});

function track(client: ClientMqttAsync): ClientMqttAsync {
  const statuses: string[] = [];
  client.status.subscribe((s) => statuses.push(s));
  cleanups.push(async () => {
    await client.close();
  });
  (client as unknown as { statuses: string[] }).statuses = statuses;
  return client;
}

function statusesOf(client: ClientMqttAsync): string[] {
  return (client as unknown as { statuses: string[] }).statuses;
}

async function expectPromptClose(client: ClientMqttAsync): Promise<void> {
  const closed = await settleWithin(client.close(), HANG_MS, 'close()');
  expect(closed.error).toBeUndefined();
  expect(statusesOf(client).at(-1)).toBe('closed');
}

@Injectable()
class Gateway {
  constructor(@Inject('MQTT') readonly client: ClientProxy) {}
}

describe('ClientMqttAsync.close() without a connection', () => {
  it('app.close() of an app whose @Client broker is down (connect still retrying) resolves', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const moduleRef = await Test.createTestingModule({
      imports: [
        ClientsModule.register([
          { name: 'MQTT', customClass: ClientMqttAsync, options: { url, reconnect: { maxAttempts: 1000 } } },
        ]),
      ],
      providers: [Gateway],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const client = app.get(Gateway).client as ClientMqttAsync;
    let attempts = 0;
    client.on('reconnecting', () => attempts++);
    const sending = settleWithin(lastValueFrom(client.send('rpc/x', 1)), HANG_MS * 2, 'send()');
    await waitUntil(() => attempts >= 2, 5000, 'failed attempts');
    const closed = await settleWithin(app.close(), HANG_MS, 'app.close()');
    expect(closed.error).toBeUndefined();
    expect((await sending).error).toBeInstanceOf(MqttAsyncClientClosedError);
  });

  it('never connected: resolves', async () => {
    const client = track(new ClientMqttAsync({ url: `mqtt://127.0.0.1:${await freePort()}` }));
    await expectPromptClose(client);
  });

  it('connecting to a broker that is down (first connect still retrying): aborts it, rejects connect() and send()', async () => {
    // A long backoff holds the first connect between attempts; close() must not wait for the next one.
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const client = track(
      new ClientMqttAsync({ url, reconnect: { maxAttempts: 1000, initialDelay: 10_000, maxDelay: 10_000 } }),
    );
    let attempts = 0;
    client.on('reconnecting', () => attempts++);
    const connecting = settleWithin(client.connect(), HANG_MS * 2, 'connect()');
    const sending = settleWithin(lastValueFrom(client.send('rpc/x', 1)), HANG_MS * 2, 'send()');
    await waitUntil(() => attempts >= 1, 5000, 'a first failed attempt');
    await expectPromptClose(client);
    expect((await connecting).error).toBeInstanceOf(MqttAsyncClientClosedError);
    expect((await sending).error).toBeInstanceOf(MqttAsyncClientClosedError);
  });

  describe('with a broker that accepts TCP but never answers CONNECT', () => {
    let fake: FakeBroker;
    afterEach(async () => {
      await fake?.stop();
    });

    it('connecting (waiting for CONNACK): aborts the attempt, rejects connect() and emit()', async () => {
      fake = await startFakeBroker();
      const client = track(new ClientMqttAsync({ url: fake.url, connectTimeout: 60_000 }));
      const connecting = settleWithin(client.connect(), HANG_MS * 2, 'connect()');
      const emitting = settleWithin(lastValueFrom(client.emit('events/x', 1)), HANG_MS * 2, 'emit()');
      const conn = await fake.nextConnection();
      await conn.next('connect');
      await expectPromptClose(client);
      expect((await connecting).error).toBeInstanceOf(MqttAsyncClientClosedError);
      expect((await emitting).error).toBeInstanceOf(MqttAsyncClientClosedError);
      await conn.closed;
    });

    it('connected: sends DISCONNECT and resolves', async () => {
      fake = await startFakeBroker(async (conn) => {
        await conn.handshake();
        conn.autoRespond();
      });
      const client = track(new ClientMqttAsync({ url: fake.url }));
      await client.connect();
      const conn = fake.connections[0];
      await expectPromptClose(client);
      expect(conn?.received.some((p) => p.type === 'disconnect')).toBe(true);
    });
  });
});

describeMosquitto('ClientMqttAsync.close() with mosquitto', () => {
  let broker: MosquittoHandle | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('connected, with a send() waiting for its reply: resolves, the send() gets MqttAsyncClientClosedError', async () => {
    broker = await startMosquitto();
    const client = track(new ClientMqttAsync({ url: broker.url }));
    await client.connect();
    const sending = settleWithin(lastValueFrom(client.send('nobody/answers', 1)), HANG_MS * 2, 'send()');
    await expectPromptClose(client);
    expect((await sending).error).toBeInstanceOf(MqttAsyncClientClosedError);
  });

  it('reconnecting (broker gone after the first connect): resolves, a waiting emit() gets MqttAsyncClientClosedError', async () => {
    broker = await startMosquitto();
    const client = track(
      new ClientMqttAsync({
        url: broker.url,
        reconnect: { maxAttempts: 1000, initialDelay: 10_000, maxDelay: 10_000 },
      }),
    );
    await client.connect();
    await broker.stop();
    await waitUntil(() => statusesOf(client).at(-1) === 'reconnecting', 5000, 'reconnecting');
    const emitting = settleWithin(lastValueFrom(client.emit('events/x', 1)), HANG_MS * 2, 'emit()');
    await expectPromptClose(client);
    expect((await emitting).error).toBeInstanceOf(MqttAsyncClientClosedError);
  });
});

describe('ClientMqttAsync.close() on the in-memory broker', () => {
  it('connected, with a send() nobody answers and a QoS 1 emit(): resolves, the send() gets MqttAsyncClientClosedError', async () => {
    const broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
    cleanups.push(() => broker.close());
    const client = track(broker.createClient() as ClientMqttAsync);
    await client.connect();
    const sending = settleWithin(lastValueFrom(client.send('nobody/answers', 1)), HANG_MS * 2, 'send()');
    await lastValueFrom(client.emit('events/x', 1));
    await expectPromptClose(client);
    expect((await sending).error).toBeInstanceOf(MqttAsyncClientClosedError);
  });
});
