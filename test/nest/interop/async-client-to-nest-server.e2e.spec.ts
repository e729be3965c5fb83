import { afterAll, beforeAll, beforeEach, describe, expect } from '@jest/globals';
import type { INestMicroservice } from '@nestjs/common';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { ClientMqttAsync, MqttAsyncRecordBuilder } from '../../../lib/nest/index.js';
import { itIf } from '../../support/mosquitto.js';
import { brokerCases, InteropController, inbox, waitUntilServing } from './fixtures.js';

describe.each(brokerCases)('ClientMqttAsync → Nest built-in ServerMqtt on $name', (broker) => {
  const maybe = itIf(broker.available, 'mosquitto');
  let stopBroker: () => Promise<void>;
  let app: INestMicroservice;
  let client: ClientMqttAsync;

  beforeAll(async () => {
    if (!broker.available) return;
    const running = await broker.start();
    stopBroker = () => running.stop();
    const moduleRef = await Test.createTestingModule({ controllers: [InteropController] }).compile();
    app = moduleRef.createNestMicroservice<MicroserviceOptions>({
      transport: Transport.MQTT,
      options: { url: running.url, protocolVersion: broker.protocolVersion },
      logger: false,
    });
    await app.listen();
    client = new ClientMqttAsync({
      url: running.url,
      protocolVersion: broker.protocolVersion,
      ...(broker.protocolVersion === 5 ? { nestWireFormat: true } : {}),
      requestTimeout: 5000,
    });
    await waitUntilServing(client);
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await stopBroker?.();
  });

  beforeEach(() => inbox.reset());

  maybe('send() gets the reply of the Nest server, also for concurrent requests', async () => {
    expect(await firstValueFrom(client.send('interop/sum', [1, 2, 3]))).toBe(6);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => firstValueFrom(client.send('interop/sum', [i, 1000]))),
    );
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => i + 1000));
  });

  maybe('a payload with its own data and pattern keys reaches the handler whole', async () => {
    const foreign = { data: { x: 1 }, pattern: 'not-mine', k: 2 };
    expect(await firstValueFrom(client.send('interop/echo', foreign))).toEqual({ echoed: foreign });
  });

  maybe('streams Observable results in order and completes', async () => {
    expect(await lastValueFrom(client.send('interop/count', 4).pipe(toArray()))).toEqual([1, 2, 3, 4]);
  });

  maybe('thrown errors and RpcException reach the subscriber as errors', async () => {
    await expect(firstValueFrom(client.send('interop/fail', {}))).rejects.toEqual({
      status: 'error',
      message: 'Internal server error',
    });
    await expect(firstValueFrom(client.send('interop/rpc-fail', {}))).rejects.toEqual({
      code: 'E_INTEROP',
      message: 'refused',
    });
  });

  maybe('emit() delivers events (plain values, objects with a data key, records)', async () => {
    await lastValueFrom(client.emit('interop/events/a', 21.5));
    await lastValueFrom(client.emit('interop/events/b', { data: 'kept', n: 1 }));
    await lastValueFrom(client.emit('interop/events/c', new MqttAsyncRecordBuilder('text').setQos(1).build()));
    const items = await inbox.waitFor(3);
    expect(items).toEqual(
      expect.arrayContaining([
        { topic: 'interop/events/a', data: 21.5 },
        { topic: 'interop/events/b', data: { data: 'kept', n: 1 } },
        { topic: 'interop/events/c', data: 'text' },
      ]),
    );
  });

  maybe('no reply subscription stays busy once requests settle', async () => {
    await Promise.all([
      firstValueFrom(client.send('interop/sum', [1])),
      firstValueFrom(client.send('interop/echo', 1)),
    ]);
    const channels = (client as unknown as { nestChannels: { size: number; active: number } }).nestChannels;
    expect(channels.active).toBe(0);
    expect(channels.size).toBeGreaterThanOrEqual(2);
  });
});
