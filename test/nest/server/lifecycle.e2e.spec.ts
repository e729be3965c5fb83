import net from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { MqttClient } from 'mqtt';
import type { TransportFactory } from '../../../lib/driver/index.js';
import { DEFAULT_SERVER_CONNECT_ATTEMPTS, ServerMqttAsync } from '../../../lib/nest/index.js';
import { describeIf, hasMosquitto, type RunningBroker, startMosquitto } from '../../support/mosquitto.js';
import { freePort } from '../../support/ports.js';
import { outsideClient, startApp } from './helpers.js';
import { serverAcks, testConnector } from './support/connector.js';

const suite = describeIf(hasMosquitto, 'mosquitto');

const state = { started: new Set<number>(), finished: new Set<number>() };

@Controller()
class SlowController {
  @EventPattern('load/items', { qos: 1, concurrency: 5, ack: 'after' })
  async item(@Payload() item: { n: number }) {
    state.started.add(item.n);
    await new Promise((r) => setTimeout(r, 2));
    state.finished.add(item.n);
  }
}

suite('ServerMqttAsync lifecycle on mosquitto', () => {
  let broker: RunningBroker;
  let publisher: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    publisher = await outsideClient(broker.url);
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.stop();
  });

  it('close() during load waits for running handlers and acknowledges only handled messages', async () => {
    const started = await startApp([SlowController], { url: broker.url, protocolVersion: 5 });
    const acksBefore = serverAcks.length;
    const publishes: Promise<unknown>[] = [];
    for (let n = 0; n < 2000; n++) publishes.push(publisher.publishAsync('load/items', `{"n":${n}}`, { qos: 1 }));
    await Promise.all(publishes);
    await started.handledCount(300);
    await started.app.close();
    const acked = serverAcks.slice(acksBefore).map((m) => JSON.parse(m.payload.toString()).n as number);
    expect(state.started.size).toBeGreaterThanOrEqual(300);
    expect(state.started.size).toBeLessThan(2000);
    // every handler that started also finished before close() resolved
    expect([...state.started].filter((n) => !state.finished.has(n))).toEqual([]);
    // every acknowledged message was handled
    expect(acked.filter((n) => !state.finished.has(n))).toEqual([]);
    expect(new Set(acked).size).toBe(state.finished.size);
    // acks left in receive order (publish order on one topic)
    expect(acked).toEqual([...acked].sort((a, b) => a - b));
  });

  it('listen() fails fast with a clear error when the broker is unreachable', async () => {
    const port = await freePort();
    const server = new ServerMqttAsync({
      url: `mqtt://127.0.0.1:${port}`,
      connector: testConnector,
      reconnect: { maxAttempts: 2, initialDelay: 10 },
    });
    const error = await new Promise<unknown>((resolve) => server.listen((err) => resolve(err)));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`could not connect to mqtt://127.0.0.1:${port}`);
  });

  /** A TCP transport for the driver that counts its connect attempts. */
  function countingTransport(): { attempts: number; transport: TransportFactory } {
    const counter = {
      attempts: 0,
      transport: (url: URL) => {
        counter.attempts++;
        return new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(Number(url.port), url.hostname);
          socket.once('connect', () => resolve(socket));
          socket.once('error', (err) => {
            socket.destroy();
            reject(err);
          });
        });
      },
    };
    return counter;
  }

  async function listenFails(server: ServerMqttAsync): Promise<Error> {
    const moduleRef = await Test.createTestingModule({}).compile();
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    const error = await app.listen().then(
      () => undefined,
      (err: unknown) => err,
    );
    await app.close();
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }

  it('app.listen() on a dead port fails after reconnect.maxAttempts attempts, naming the URL without credentials', async () => {
    const port = await freePort();
    const counter = countingTransport();
    const server = new ServerMqttAsync({
      url: `mqtt://alice:s3cret@127.0.0.1:${port}`,
      reconnect: { maxAttempts: 4, initialDelay: 20, factor: 2, jitter: 0 },
      transport: counter.transport,
    });
    const statuses: string[] = [];
    server.status.subscribe((s) => statuses.push(s));
    const retries: Array<{ attempt: number; delay: number }> = [];
    server.on('reconnecting', (retry) => retries.push(retry));
    const t0 = Date.now();
    const error = await listenFails(server);
    const elapsed = Date.now() - t0;
    expect(counter.attempts).toBe(4);
    // on() before listen() sees the retries of that first connect.
    expect(retries.map((r) => r.attempt)).toEqual([2, 3, 4]);
    // backoff between the attempts: 20 + 40 + 80 ms
    expect(elapsed).toBeGreaterThanOrEqual(135);
    expect(error.message).toContain(`ServerMqttAsync could not connect to mqtt://***@127.0.0.1:${port}`);
    const everything = inspect(error, { depth: 10 });
    expect(everything).not.toContain('s3cret');
    expect(everything).not.toContain('alice');
    expect(statuses.at(-1)).toBe('closed');
  });

  it(`makes DEFAULT_SERVER_CONNECT_ATTEMPTS (${DEFAULT_SERVER_CONNECT_ATTEMPTS}) attempts when the options set none`, async () => {
    const port = await freePort();
    const counter = countingTransport();
    const server = new ServerMqttAsync({
      url: `mqtt://127.0.0.1:${port}`,
      reconnect: { initialDelay: 10 },
      transport: counter.transport,
    });
    const error = await listenFails(server);
    expect(DEFAULT_SERVER_CONNECT_ATTEMPTS).toBe(3);
    expect(counter.attempts).toBe(DEFAULT_SERVER_CONNECT_ATTEMPTS);
    expect(error.message).toContain(`could not connect to mqtt://127.0.0.1:${port}`);
  });

  it('on the default TCP transport the attempts are spaced by the reconnect backoff', async () => {
    const port = await freePort();
    const server = new ServerMqttAsync({
      url: `mqtt://127.0.0.1:${port}`,
      reconnect: { maxAttempts: 3, initialDelay: 300, factor: 1, jitter: 0 },
    });
    const t0 = Date.now();
    const error = await listenFails(server);
    const elapsed = Date.now() - t0;
    // 3 attempts: two 300 ms pauses; a 4th attempt would add a third
    expect(elapsed).toBeGreaterThanOrEqual(590);
    expect(elapsed).toBeLessThan(880);
    expect(error.message).toContain(`could not connect to mqtt://127.0.0.1:${port}`);
  });

  it('rejects a malformed pattern at startup naming the handler', async () => {
    @Controller()
    class BadController {
      @EventPattern<string>('devices/{id/cmd')
      bad() {}
    }
    await expect(startApp([BadController], { url: broker.url })).rejects.toThrow(
      "Invalid pattern 'devices/{id/cmd' on @EventPattern('devices/{id/cmd')",
    );
  });
});
