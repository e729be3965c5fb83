/**
 * Nest 11's ClientProxy has no `createPacket()` (Nest 12 added it, with `setOnDispatchHook()`): ClientMqttAsync's
 * send() and emit() threw `TypeError: this.createPacket is not a function` there. Simulated here by hiding the
 * method on one client (this repo builds against Nest 12); test/consumers/nest11-cjs runs the real Nest 11.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { type ClientMqttAsync, TopicParam } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';

const events: unknown[] = [];

@Controller()
class CompatController {
  @MessagePattern('compat/{op}')
  calc(@Payload() numbers: number[], @TopicParam('op') op: string) {
    return op === 'sum' ? numbers.reduce((a, b) => a + b, 0) : null;
  }

  @EventPattern<string>('compat/events')
  event(@Payload() data: unknown) {
    events.push(data);
  }
}

@Module({ controllers: [CompatController] })
class CompatModule {}

/** A ClientMqttAsync as on Nest 11: the inherited `createPacket` is not there. */
function asOnNest11(client: ClientMqttAsync): ClientMqttAsync {
  Object.defineProperty(client, 'createPacket', { value: undefined });
  return client;
}

describe('ClientMqttAsync on a Nest 11 ClientProxy (no createPacket)', () => {
  let broker: MqttAsyncTestBroker;
  let app: INestMicroservice;
  afterEach(async () => {
    await app?.close();
    await broker?.close();
    events.length = 0;
  });

  async function start(): Promise<ClientMqttAsync> {
    broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
    const moduleRef = await Test.createTestingModule({ imports: [CompatModule] }).compile();
    app = moduleRef.createNestMicroservice({ strategy: broker.createServer(), logger: false });
    await app.listen();
    return asOnNest11(broker.createClient());
  }

  it('send() with topic params answers', async () => {
    const client = await start();
    await expect(firstValueFrom(client.send('compat/sum', [1, 2, 3]))).resolves.toBe(6);
  });

  it('emit() delivers the event', async () => {
    const client = await start();
    await lastValueFrom(client.emit('compat/events', { n: 1 }));
    await broker.settled();
    expect(events).toEqual([{ n: 1 }]);
  });
});
