/**
 * Replies and dead letters made while the server reconnects are queued (at QoS 1 when the request was QoS 0) and
 * delivered after the reconnect (issue 11): they used to be dropped with "Publish to 'replies/…' failed: Not
 * connected".
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { connect, type MqttDriverClient, type MqttMessage } from '../../../lib/driver/index.js';
import { ServerMqttAsync } from '../../../lib/nest/index.js';
import { eventually } from '../../support/eventually.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

/** This file's deadline: 15_000 ms unless a call says otherwise. */
const until = (predicate: () => boolean, what: string | (() => string), ms = 15_000) => eventually(predicate, what, ms);

/** Handlers wait here until the server's link is down. */
let linkDown: () => void = () => {};
let gate = new Promise<void>((resolve) => {
  linkDown = resolve;
});
/** How many handler calls are waiting at the gate. */
let waiting = 0;

@Controller()
class SlowController {
  @MessagePattern('outage/rpc')
  async answer(@Payload() n: number) {
    waiting++;
    await gate;
    return n * 2;
  }

  @EventPattern('outage/event')
  async fail(@Payload() _event: unknown) {
    waiting++;
    await gate;
    throw new Error('failed while the broker was away');
  }
}

describeMosquitto('replies and dead letters made while reconnecting (mosquitto, MQTT 5)', () => {
  let broker: MosquittoHandle;
  let app: INestMicroservice;
  let server: ServerMqttAsync;
  let observer: MqttDriverClient;
  const received: MqttMessage[] = [];

  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true });
    // concurrency 2: both handlers (one consume loop: equal options) are inside their call when the broker goes.
    server = new ServerMqttAsync({ url: broker.url, deadLetterTopic: 'outage/dead', concurrency: 2 });
    const moduleRef = await Test.createTestingModule({ controllers: [SlowController] }).compile();
    app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    server.status.subscribe((status) => {
      if (status === 'reconnecting') linkDown();
    });
    // A persistent observer: what is published while it is away waits for it in its session.
    observer = await connect(broker.url, {
      clientId: 'outage-observer',
      cleanStart: false,
      sessionExpiryInterval: 300,
    });
    const sub = await observer.subscribe(['outage/replies', 'outage/dead'], { qos: 1 });
    void (async () => {
      for await (const m of sub) received.push(m);
    })();
  });

  afterAll(async () => {
    await app?.close();
    await observer?.disconnect();
    await broker?.stop();
  });

  it('a QoS 0 request answered and a QoS 0 event failed during the outage reach their topics after it', async () => {
    gate = new Promise<void>((resolve) => {
      linkDown = resolve;
    });
    await observer.publish('outage/rpc', '21', {
      qos: 0,
      properties: { responseTopic: 'outage/replies', correlationData: Buffer.from('c1') },
    });
    await observer.publish('outage/event', '{"n":1}', { qos: 0 });
    // Both handlers are waiting; the broker goes away, they finish while the server reconnects.
    await until(() => waiting >= 2, 'both handlers waiting at the gate');
    await broker.restart({ downFor: 500 });
    await until(() => received.length >= 2, 'the reply and the dead letter');
    const reply = received.find((m) => m.topic === 'outage/replies');
    expect(reply?.payload.toString()).toBe('42');
    expect(reply?.properties.correlationData?.toString()).toBe('c1');
    expect(received.find((m) => m.topic === 'outage/dead')?.payload.toString()).toBe('{"n":1}');
  });
});
