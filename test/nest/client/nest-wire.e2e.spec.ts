import { afterAll, beforeAll, beforeEach, describe, expect } from '@jest/globals';
import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import {
  ClientMqttAsync,
  type MessageHandledEvent,
  MqttAsyncExceptionFilter,
  MqttAsyncRecordBuilder,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { itIf } from '../../support/mosquitto.js';
import { brokerCases } from '../interop/fixtures.js';
import { DevicesController, seen } from '../server/app.fixture.js';

describe.each(brokerCases)('ClientMqttAsync → ServerMqttAsync in the Nest wire format on $name', (broker) => {
  const maybe = itIf(broker.available, 'mosquitto');
  let stopBroker: () => Promise<void>;
  let app: INestMicroservice;
  let client: ClientMqttAsync;
  const handled: MessageHandledEvent[] = [];
  const waiters: Array<() => void> = [];

  async function handledOn(topic: string): Promise<void> {
    while (!handled.some((h) => h.topic === topic)) await new Promise<void>((r) => waiters.push(r));
  }

  beforeAll(async () => {
    if (!broker.available) return;
    const running = await broker.start();
    stopBroker = () => running.stop();
    const options = { url: running.url, protocolVersion: broker.protocolVersion, nestWireFormat: true } as const;
    const strategy = new ServerMqttAsync(options);
    strategy.on('message:handled', (event) => {
      handled.push(event);
      for (const wake of waiters.splice(0)) wake();
    });
    const moduleRef = await Test.createTestingModule({ controllers: [DevicesController] }).compile();
    app = moduleRef.createNestMicroservice({ strategy, logger: false });
    app.useGlobalFilters(new MqttAsyncExceptionFilter());
    await app.listen();
    // On 3.1.1 the wire format is implied; on 5 it is opted into.
    client = new ClientMqttAsync(broker.protocolVersion === 4 ? { url: running.url, protocolVersion: 4 } : options);
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await stopBroker?.();
  });

  beforeEach(() => {
    seen.reset();
    handled.length = 0;
  });

  maybe('send(): topic params, most specific handler, concurrent requests on one pattern', async () => {
    expect(await firstValueFrom(client.send('devices/t1/cmd', { op: 'ping' }))).toEqual({
      id: 't1',
      accepted: true,
      op: 'ping',
      pattern: 'devices/{id}/cmd',
    });
    expect(await firstValueFrom(client.send('devices/special/cmd', {}))).toEqual({ special: true });
    const sums = await Promise.all(
      Array.from({ length: 50 }, (_, i) => firstValueFrom(client.send('math/sum', [i, 1]))),
    );
    expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  maybe('streams Observable replies in order', async () => {
    expect(await lastValueFrom(client.send('stream/count', 5).pipe(toArray()))).toEqual([1, 2, 3, 4, 5]);
  });

  maybe('thrown errors, RpcException and validation failures arrive as errors', async () => {
    await expect(firstValueFrom(client.send('math/fail', [1]))).rejects.toEqual({
      status: 'error',
      message: 'Internal server error',
    });
    await expect(firstValueFrom(client.send('math/rpc-fail', [1]))).rejects.toEqual({
      code: 'E_MATH',
      message: 'cannot do that',
    });
    await expect(firstValueFrom(client.send('devices/t1/cmd', { op: 'format' }))).rejects.toMatchObject({
      status: 'error',
      statusCode: 400,
    });
  });

  maybe('emit(): events with params, a data key kept, records with QoS; replies never routed', async () => {
    await lastValueFrom(client.emit('temperature-sensors/t9/temperature', 20.5));
    await lastValueFrom(client.emit('raw/a', { data: 'kept', pattern: 'also kept' }));
    await lastValueFrom(client.emit('raw/b', new MqttAsyncRecordBuilder('text').setQos(0).build()));
    await handledOn('temperature-sensors/t9/temperature');
    await handledOn('raw/a');
    await handledOn('raw/b');
    expect(seen.temperatures).toEqual([expect.objectContaining({ id: 't9', t: 20.5 })]);
    expect(seen.raw).toEqual(expect.arrayContaining([{ data: 'kept', pattern: 'also kept' }, 'text']));
    await firstValueFrom(client.send('devices/t2/cmd', { op: 'ping' }));
    await handledOn('devices/t2/cmd/reply');
    expect(seen.fallback).toEqual([]);
  });
});
