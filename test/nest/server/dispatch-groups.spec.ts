import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { MqttDriverClient } from '../../../lib/driver/index.js';
import { DEAD_LETTER_TOPIC_PROPERTY, type MqttAsyncServerOptions, mqttOptions } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';

/** How often each handler ran, by name. */
const runs = new Map<string, number>();
const ran = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);

@Controller()
class OverlappingController {
  /** The most specific RPC route for calc/sum: its own subscription group (QoS 1, the default). */
  @MessagePattern('calc/sum')
  sum(data: number[]) {
    ran('sum');
    return data.reduce((a, b) => a + b, 0);
  }

  /** Also matches calc/sum, in another subscription group (QoS 2): the broker delivers a copy to it too. */
  @MessagePattern('calc/+', mqttOptions({ qos: 2 }))
  any() {
    ran('any');
    return 'any';
  }

  /** A third group on the same topic (an event): the message reaches it as well. */
  @EventPattern<string>('calc/#', mqttOptions({ qos: 2, concurrency: 2 }))
  audit() {
    ran('audit');
  }
}

@Controller()
class RpcOnlyController {
  @MessagePattern('orders/create')
  create() {
    ran('create');
    return 'created';
  }
}

let broker: MqttAsyncTestBroker;
let app: INestMicroservice | undefined;
let publisher: MqttDriverClient | undefined;

async function start(controller: new () => unknown, protocolVersion: 4 | 5, options: Partial<MqttAsyncServerOptions>) {
  runs.clear();
  broker = new MqttAsyncTestBroker({ protocolVersion });
  app = (await Test.createTestingModule({ controllers: [controller] }).compile()).createNestMicroservice({
    strategy: broker.createServer(options),
    logger: false,
  });
  await app.listen();
}

afterEach(async () => {
  await publisher?.disconnect();
  publisher = undefined;
  await app?.close();
  app = undefined;
  await broker?.close();
});

describe.each([5, 4] as const)('MQTT %s: an RPC reaching several subscription groups', (protocolVersion) => {
  it('runs the most specific @MessagePattern once and replies once, whatever other groups the message reaches', async () => {
    await start(OverlappingController, protocolVersion, {});
    expect(await broker.request('calc/sum', [1, 2, 3])).toBe(6);
    // request() resolved after every handler the message reached settled (broker.settled()).
    expect(Object.fromEntries(runs)).toEqual({ sum: 1, audit: 1 });
    const replies = broker.published((r) => r.topic !== 'calc/sum');
    expect(replies.map((r) => r.payload)).toEqual([
      protocolVersion === 5 ? 6 : expect.objectContaining({ response: 6, isDisposed: true }),
    ]);
  });
});

describe.each([5, 4] as const)('MQTT %s: an undecodable RPC without a Response Topic', (protocolVersion) => {
  it('is dead-lettered (no handler ran, there is nobody to send an error reply to)', async () => {
    await start(RpcOnlyController, protocolVersion, { deadLetterTopic: 'dead-letters/orders' });
    publisher = await broker.connect({ protocolVersion });
    await publisher.publish('orders/create', '{"item": 1,', { qos: 1 });
    // Dead-lettering happens before the message is settled: once settled, it is there or it never will be.
    await broker.settled();
    const dead = broker.published('dead-letters/orders');
    expect(dead.map((r) => r.rawPayload.toString())).toEqual(['{"item": 1,']);
    if (protocolVersion === 5) expect(dead[0]?.userProperties[DEAD_LETTER_TOPIC_PROPERTY]).toBe('orders/create');
    expect(runs.get('create')).toBeUndefined();
  });
});
