import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { type ClientMqttAsync, mqttOptions } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';

const COUNT = 3;
let broker: MqttAsyncTestBroker;
let app: INestMicroservice | undefined;
let client: ClientMqttAsync | undefined;
/** Requests that reached the responder, in arrival order. */
let arrived: number[] = [];
let allArrived: () => void;
let everyoneArrived: Promise<void>;

/**
 * Answers concurrent requests in reverse order of arrival: each waits until all arrived, then until the reply of
 * the request that came after it was published (seen on the broker), so replies leave last-in-first-out.
 */
@Controller()
class ReverseResponder {
  @MessagePattern('rev/echo', mqttOptions({ concurrency: COUNT }))
  async echo(n: number) {
    arrived.push(n);
    if (arrived.length === COUNT) allArrived();
    await everyoneArrived;
    const after = arrived[arrived.indexOf(n) + 1];
    if (after !== undefined) await broker.waitFor((r) => replyValue(r.payload) === after * 10, { timeout: 5000 });
    return n * 10;
  }
}

/** The reply value in either wire format (MQTT 5: the value; Nest's: `{ id, response, isDisposed }`). */
function replyValue(payload: unknown): unknown {
  return typeof payload === 'object' && payload !== null && 'response' in payload
    ? (payload as { response: unknown }).response
    : payload;
}

afterEach(async () => {
  await client?.close();
  client = undefined;
  await app?.close();
  app = undefined;
  await broker?.close();
});

describe.each([5, 4] as const)('MQTT %s: concurrent send()s answered out of order', (protocolVersion) => {
  it('each caller gets its own reply, matched by its request id, not by order', async () => {
    arrived = [];
    everyoneArrived = new Promise<void>((resolve) => {
      allArrived = resolve;
    });
    broker = new MqttAsyncTestBroker({ protocolVersion });
    app = (await Test.createTestingModule({ controllers: [ReverseResponder] }).compile()).createNestMicroservice({
      strategy: broker.createServer(),
      logger: false,
    });
    await app.listen();
    // A reply given to the wrong caller leaves another waiting: fail within 5 s, not at Jest's timeout.
    client = broker.createClient({ requestTimeout: 5000 });
    await client.connect();

    const replies = await Promise.all(
      Array.from({ length: COUNT }, (_, i) => lastValueFrom(client!.send<number>('rev/echo', i + 1))),
    );

    expect(replies).toEqual([10, 20, 30]);
    // The replies really left in reverse order of arrival.
    const order = broker
      .published((r) => r.topic !== 'rev/echo')
      .map((r) => replyValue(r.payload))
      .filter((v) => typeof v === 'number');
    expect(order).toEqual([...arrived].reverse().map((n) => n * 10));
  });
});
