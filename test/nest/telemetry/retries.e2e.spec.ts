/**
 * Telemetry of retries (issue 17): one CONSUMER span per message with a `retry` event per failed try that is tried
 * again, `nest_mqtt_async.retries` by handler pattern, and the dead letter after the last try counted in
 * `nest_mqtt_async.dead_letters`. In memory, with the real SDK.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { mqttOptions } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { type Otel, registerOtel, spanNamed } from './otel.js';

@Controller()
class FlakyController {
  @EventPattern<string>('flaky/{id}', mqttOptions({ ack: 'after', retry: { attempts: 3, delay: 5, backoff: 'fixed' } }))
  flaky(@Payload() _data: unknown) {
    throw new RpcException('still down');
  }
}

let otel: Otel;
let broker: MqttAsyncTestBroker;

beforeAll(() => {
  otel = registerOtel();
  broker = new MqttAsyncTestBroker();
});

afterAll(async () => {
  await broker?.close();
  await otel?.shutdown();
});

it('a message tried 3 times: one process span with 2 retry events, 2 retries and 1 dead letter counted', async () => {
  const moduleRef = await Test.createTestingModule({ controllers: [FlakyController] }).compile();
  const app = moduleRef.createNestMicroservice({
    strategy: broker.createServer({ deadLetterTopic: 'dead/letters' }),
    logger: false,
  });
  await app.listen();
  try {
    await broker.publish('flaky/1', { n: 1 });
    expect(broker.published('dead/letters')).toHaveLength(1);
    const span = spanNamed(otel.spans(), 'process flaky/{id}');
    expect(span.events.map((e) => [e.name, e.attributes?.['nest_mqtt_async.attempt']])).toEqual([
      ['retry', 1],
      ['retry', 2],
      ['exception', undefined], // the last try's error, recorded on the span as any handler error
    ]);
    const metrics = (await otel.collect()).scopeMetrics.flatMap((scope) => scope.metrics);
    const total = (name: string) =>
      metrics.find((m) => m.descriptor.name === name)?.dataPoints.reduce((sum, p) => sum + (p.value as number), 0);
    expect(total('nest_mqtt_async.retries')).toBe(2);
    expect(total('nest_mqtt_async.dead_letters')).toBe(1);
  } finally {
    await app.close();
  }
});
