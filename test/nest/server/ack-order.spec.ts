import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { MqttAsyncContext, mqttOptions } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';

/**
 * Acks leave in receive order per subscription even when handlers (concurrency > 1) finish out of order.
 *
 * Which layer guarantees it: on a real connection the driver's `InboundAcks` (lib/driver/session/inbound.ts)
 * also holds a PUBACK until the earlier ones left, so the wire order alone cannot tell whether the server's
 * `AckSequencer` is shared by a subscription. The in-memory broker settles a delivery the moment
 * `message.ack()` is called (no driver ordering underneath), so it shows the order the server hands acks to
 * the driver — which is what breaks when each message gets its own sequencer.
 */

let broker: MqttAsyncTestBroker;
let app: INestMicroservice | undefined;
/** What the broker still waited for right after the second message's handler acked it. */
let unackedAfterSecondAck: string[] | undefined;
let secondAcked: () => void;

@Controller()
class OutOfOrderController {
  @EventPattern<string>('jobs/{n}', mqttOptions({ ack: 'manual', concurrency: 2 }))
  async job(@Payload() data: { n: number }, @Ctx() ctx: MqttAsyncContext) {
    if (data.n === 1) {
      // The first message's handler finishes last: it waits for the second one to ack.
      await new Promise<void>((resolve) => {
        secondAcked = resolve;
      });
      await ctx.ack();
      return;
    }
    const sent = ctx.ack();
    // The in-memory broker settles synchronously when the driver-level ack is called: snapshot now.
    unackedAfterSecondAck = broker.unacked().map((r) => r.topic);
    secondAcked();
    await sent;
  }
}

afterEach(async () => {
  await app?.close();
  app = undefined;
  await broker?.close();
  unackedAfterSecondAck = undefined;
});

describe('ack order with concurrency > 1 (one AckSequencer per subscription)', () => {
  it('holds the second message’s ack until the first message’s handler acked, then both leave in receive order', async () => {
    broker = new MqttAsyncTestBroker();
    app = (await Test.createTestingModule({ controllers: [OutOfOrderController] }).compile()).createNestMicroservice({
      strategy: broker.createServer(),
      logger: false,
    });
    await app.listen();

    await Promise.all([broker.publish('jobs/1', { n: 1 }, { qos: 1 }), broker.publish('jobs/2', { n: 2 }, { qos: 1 })]);

    // The second handler acked while the first was still running: its ack must not have left before the first's.
    expect(unackedAfterSecondAck).toEqual(['jobs/1', 'jobs/2']);
    expect(broker.unacked()).toEqual([]);
  });
});
