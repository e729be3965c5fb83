import { afterAll, beforeAll, beforeEach, describe, expect } from '@jest/globals';
import { ClientMqtt } from '@nestjs/microservices';
import { firstValueFrom, toArray } from 'rxjs';
import { MqttAsyncExceptionFilter } from '../../../lib/nest/index.js';
import { startAedes } from '../../support/aedes.js';
import { hasMosquitto, itIf, type RunningBroker, startMosquitto } from '../../support/mosquitto.js';
import { DevicesController, seen } from './app.fixture.js';
import { type StartedApp, startApp } from './helpers.js';

const brokers: Array<[string, () => Promise<RunningBroker>, boolean, 4 | 5]> = [
  ['mosquitto 3.1.1', startMosquitto, hasMosquitto, 4],
  ['aedes 3.1.1', startAedes, true, 4],
  ['mosquitto 5 with nestWireFormat', startMosquitto, hasMosquitto, 5],
];

describe.each(brokers)(
  'Nest built-in ClientMqtt → ServerMqttAsync on %s',
  (_name, start, available, protocolVersion) => {
    const maybe = itIf(available, 'mosquitto');
    let broker: RunningBroker;
    let started: StartedApp;
    let client: ClientMqtt;

    beforeAll(async () => {
      if (!available) return;
      broker = await start();
      started = await startApp([DevicesController], { url: broker.url, protocolVersion, nestWireFormat: true }, (app) =>
        app.useGlobalFilters(new MqttAsyncExceptionFilter()),
      );
      client = new ClientMqtt({ url: broker.url, protocolVersion } as never);
      await client.connect();
    });

    afterAll(async () => {
      await client?.close();
      await started?.app.close();
      await broker?.stop();
    });

    beforeEach(() => seen.reset());

    maybe('answers send() with params and most-specific routing', async () => {
      expect(await firstValueFrom(client.send('devices/t7/cmd', { op: 'ping' }))).toEqual({
        id: 't7',
        accepted: true,
        op: 'ping',
        pattern: 'devices/{id}/cmd',
      });
      expect(await firstValueFrom(client.send('devices/special/cmd', {}))).toEqual({ special: true });
      expect(await firstValueFrom(client.send('math/sum', [1, 2, 3]))).toBe(6);
    });

    maybe('streams Observable results to the built-in client', async () => {
      expect(await firstValueFrom(client.send('stream/count', 3).pipe(toArray()))).toEqual([1, 2, 3]);
    });

    maybe('reports thrown errors, RpcException and validation failures as errors', async () => {
      await expect(firstValueFrom(client.send('math/fail', [1]))).rejects.toEqual({
        status: 'error',
        message: 'Internal server error',
      });
      await expect(firstValueFrom(client.send('math/rpc-fail', [1]))).rejects.toEqual({
        code: 'E_MATH',
        message: 'cannot do that',
      });
      const invalid = firstValueFrom(client.send('devices/t1/cmd', { op: 'format' }));
      await expect(invalid).rejects.toMatchObject({ status: 'error', statusCode: 400 });
    });

    maybe('delivers emit() events unwrapped, with params, and never routes its own replies', async () => {
      const before = started.handled.length;
      await firstValueFrom(client.emit('temperature-sensors/t3/temperature', 19.5));
      await started.handledOn('temperature-sensors/t3/temperature', before);
      expect(seen.temperatures).toEqual([
        expect.objectContaining({ id: 't3', t: 19.5, topic: 'temperature-sensors/t3/temperature' }),
      ]);
      expect(seen.catchAll).toEqual(['temperature-sensors/t3/temperature']);
      // the reply of this request lands on devices/t2/cmd/reply, which devices/# also matches
      const count = started.handled.length;
      expect(await firstValueFrom(client.send('devices/t2/cmd', { op: 'ping' }))).toMatchObject({ id: 't2' });
      const [ownReply] = await started.handledOn('devices/t2/cmd/reply', count);
      expect(ownReply!.error).toBeUndefined();
      expect(seen.fallback).toEqual([]);
      expect(started.handled.slice(count).filter((h) => h.topic === 'devices/t2/cmd')).toHaveLength(1);
    });
  },
);
