import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { MqttClient } from 'mqtt';
import { ServerMqttAsync } from '../../../lib/nest/index.js';
import { outsideClient, startApp } from './helpers.js';
import { freePort, hasMosquitto, type RunningBroker, startMosquitto } from './support/broker.js';
import { serverAcks, testConnector } from './support/connector.js';

if (!hasMosquitto) console.warn('SKIPPED: /usr/sbin/mosquitto not installed; lifecycle e2e tests skipped');
const suite = hasMosquitto ? describe : describe.skip;

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
