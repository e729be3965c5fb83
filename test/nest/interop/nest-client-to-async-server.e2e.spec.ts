import { afterAll, beforeAll, beforeEach, describe, expect } from '@jest/globals';
import { type INestMicroservice, Inject, Injectable } from '@nestjs/common';
import { type ClientProxy, ClientsModule, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { MqttAsyncExceptionFilter, ServerMqttAsync } from '../../../lib/nest/index.js';
import type { AedesHandle } from '../../support/aedes.js';
import { eventually } from '../../support/eventually.js';
import { itIf } from '../../support/mosquitto.js';
import { brokerCases, InteropController, inbox } from './fixtures.js';

/** An application service calling another service through Nest's built-in MQTT client. */
@Injectable()
class Caller {
  constructor(@Inject('LEGACY') readonly client: ClientProxy) {}
}

describe.each(brokerCases)(
  'Nest built-in ClientMqtt (ClientsModule, Transport.MQTT) → ServerMqttAsync on $name',
  (broker) => {
    const maybe = itIf(broker.available, 'mosquitto');
    let stopBroker: () => Promise<void>;
    let server: INestMicroservice;
    let caller: INestMicroservice;
    let client: ClientProxy;
    /** aedes only: UNSUBSCRIBEs of the reply topic aedes has applied (its 'unsubscribe' event). */
    let replyUnsubscribes: number | undefined;

    beforeAll(async () => {
      if (!broker.available) return;
      const running = await broker.start();
      stopBroker = () => running.stop();
      if ('broker' in running) {
        replyUnsubscribes = 0;
        (running as AedesHandle).broker.on('unsubscribe', (topics) => {
          if ((topics as string[]).includes('interop/sum/reply')) replyUnsubscribes = (replyUnsubscribes ?? 0) + 1;
        });
      }
      const serverModule = await Test.createTestingModule({ controllers: [InteropController] }).compile();
      server = serverModule.createNestMicroservice({
        strategy: new ServerMqttAsync({
          url: running.url,
          protocolVersion: broker.protocolVersion,
          nestWireFormat: broker.protocolVersion === 5,
        }),
        logger: false,
      });
      server.useGlobalFilters(new MqttAsyncExceptionFilter());
      await server.listen();
      const callerModule = await Test.createTestingModule({
        imports: [
          ClientsModule.register([
            {
              name: 'LEGACY',
              transport: Transport.MQTT,
              options: { url: running.url, protocolVersion: broker.protocolVersion },
            },
          ]),
        ],
        providers: [Caller],
      }).compile();
      caller = callerModule.createNestMicroservice({
        strategy: { listen: (cb: () => void) => cb(), close() {} } as never,
        logger: false,
      });
      await caller.init();
      client = caller.get(Caller).client;
      await client.connect();
    });

    afterAll(async () => {
      await caller?.close();
      await server?.close();
      await stopBroker?.();
    });

    beforeEach(() => inbox.reset());

    maybe('send() is answered, request after request', async () => {
      const base = replyUnsubscribes ?? 0;
      expect(await firstValueFrom(client.send('interop/sum', [1, 2, 3]))).toBe(6);
      // Sequential on purpose: concurrent sends on a cold `<topic>/reply` race inside ClientMqtt itself (each one
      // subscribes, the first to settle unsubscribes while a later SUBSCRIBE is still in flight).
      // ClientMqtt also unsubscribes after every request and subscribes again for the next; aedes may apply that
      // UNSUBSCRIBE after the next SUBSCRIBE, so on aedes each request waits until aedes applied the last one's.
      for (let i = 0; i < 20; i++) {
        if (replyUnsubscribes !== undefined) {
          const want = base + i + 1;
          await eventually(() => (replyUnsubscribes ?? 0) >= want, `aedes applying UNSUBSCRIBE ${want}`, 10_000);
        }
        expect(await firstValueFrom(client.send('interop/sum', [i, 100]))).toBe(i + 100);
      }
    });

    maybe('a foreign-looking payload with a data key reaches the handler whole', async () => {
      const foreign = { data: { x: 1 }, k: 2 };
      expect(await firstValueFrom(client.send('interop/echo', foreign))).toEqual({ echoed: foreign });
    });

    maybe('Observable results stream to the built-in client', async () => {
      expect(await lastValueFrom(client.send('interop/count', 3).pipe(toArray()))).toEqual([1, 2, 3]);
    });

    maybe('thrown errors and RpcException reach the built-in client as errors', async () => {
      await expect(firstValueFrom(client.send('interop/fail', {}))).rejects.toEqual({
        status: 'error',
        message: 'Internal server error',
      });
      await expect(firstValueFrom(client.send('interop/rpc-fail', {}))).rejects.toEqual({
        code: 'E_INTEROP',
        message: 'refused',
      });
    });

    maybe('emit() events arrive unwrapped, a data key included', async () => {
      await lastValueFrom(client.emit('interop/events/a', 19.5));
      await lastValueFrom(client.emit('interop/events/b', { data: 'kept', n: 1 }));
      const items = await inbox.waitFor(2);
      expect(items).toEqual(
        expect.arrayContaining([
          { topic: 'interop/events/a', data: 19.5 },
          { topic: 'interop/events/b', data: { data: 'kept', n: 1 } },
        ]),
      );
    });
  },
);
