import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import mqtt from 'mqtt';
import { interval, lastValueFrom, map, type Observable, of, take, toArray } from 'rxjs';
import type { MqttDriverClient } from '../../../lib/driver/index.js';
import { ClientMqttAsync, decodeReplyFlags, REPLY_MORE_PROPERTY, ServerMqttAsync } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { eventually } from '../../support/eventually.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

/*
 * The reply protocol: a reply without our user properties is final (any MQTT 5 responder can answer a send());
 * only a streamed value with more to come is marked. One module (serialization/reply.ts) encodes and decodes the
 * flags for the server, ClientMqttAsync and the in-memory broker's request().
 */

/** Far beyond every deadline below: a send() that waits for it instead of the plain reply fails the test. */
const REQUEST_TIMEOUT = 60_000;
const DEADLINE = 4_000;

/** Resolves with `promise`, or rejects when it takes longer than DEADLINE (the request timeout is far longer). */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${DEADLINE} ms`)), DEADLINE);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

@Controller()
class StreamController {
  /** Three values with time between them: each leaves before the next exists. */
  @MessagePattern('proto/stream/async')
  threeAsync(): Observable<number> {
    return interval(5).pipe(
      take(3),
      map((i) => i + 1),
    );
  }

  @MessagePattern('proto/stream/sync')
  threeSync(): Observable<number> {
    return of(1, 2, 3);
  }
}

/** A driver client answering `plain/+` like mosquitto_rr's responder: the payload back, Correlation Data copied. */
async function plainDriverResponder(client: MqttDriverClient): Promise<void> {
  const sub = await client.subscribe('plain/+', { qos: 1 });
  void (async () => {
    for await (const m of sub) {
      const responseTopic = m.properties.responseTopic;
      if (!responseTopic) continue;
      const value = JSON.parse(m.payload.toString()) as { n: number };
      await client.publish(responseTopic, JSON.stringify({ echoed: value.n }), {
        qos: 0,
        properties: { correlationData: m.properties.correlationData },
      });
    }
  })();
}

function streamingCases(target: () => { client: ClientMqttAsync; request?: (t: string) => Promise<unknown> }) {
  it.each(['proto/stream/async', 'proto/stream/sync'])(
    'an Observable handler streaming 3 replies: send() gets 1, 2, 3 and completes (%s)',
    async (topic) => {
      const { client } = target();
      expect(await within(lastValueFrom(client.send(topic, {}).pipe(toArray())), 'send()')).toEqual([1, 2, 3]);
      expect(await within(lastValueFrom(client.send(topic, {})), 'lastValueFrom(send())')).toBe(3);
    },
  );
}

describeMosquitto('reply protocol on mosquitto (MQTT 5)', () => {
  let broker: MosquittoHandle;
  let responder: mqtt.MqttClient;
  let app: INestMicroservice;
  let client: ClientMqttAsync;

  beforeAll(async () => {
    broker = await startMosquitto();
    // MQTT.js as the plain responder: copies Correlation Data to the Response Topic, no user properties at all
    responder = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    responder.on('message', (_topic, payload, packet) => {
      const responseTopic = packet.properties?.responseTopic;
      if (!responseTopic) return;
      const value = JSON.parse(payload.toString()) as { n: number };
      responder.publish(responseTopic, JSON.stringify({ echoed: value.n }), {
        qos: 1,
        properties: { correlationData: packet.properties?.correlationData },
      });
    });
    await responder.subscribeAsync('plain/+', { qos: 1 });
    const moduleRef = await Test.createTestingModule({ controllers: [StreamController] }).compile();
    app = moduleRef.createNestMicroservice({
      strategy: new ServerMqttAsync({ url: broker.url, protocolVersion: 5 }),
      logger: false,
    });
    await app.listen();
    client = new ClientMqttAsync({ url: broker.url, protocolVersion: 5, requestTimeout: REQUEST_TIMEOUT });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await responder?.endAsync();
    await broker?.stop();
  });

  it('a plain MQTT 5 responder (MQTT.js, no user properties) completes lastValueFrom(send()) at once', async () => {
    expect(await within(lastValueFrom(client.send('plain/echo', { n: 7 })), 'lastValueFrom(send())')).toEqual({
      echoed: 7,
    });
    expect(await within(lastValueFrom(client.send('plain/echo', { n: 8 }).pipe(toArray())), 'send()')).toEqual([
      { echoed: 8 },
    ]);
  });

  streamingCases(() => ({ client }));

  it('marks every streamed reply but the last with more-follows; the last carries no such flag', async () => {
    const spy = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const replies: mqtt.IPublishPacket[] = [];
      spy.on('message', (_t, _p, packet) => replies.push(packet));
      await spy.subscribeAsync('nest-mqtt-async/replies/#', { qos: 1 });
      await within(lastValueFrom(client.send('proto/stream/sync', {})), 'send()');
      // the spy's copy of the final reply may trail the client's: wait for it, bounded
      await eventually(
        () => replies.some((r) => r.payload.toString() === '3'),
        'the spy seeing the last reply',
        DEADLINE,
      );
      const flags = replies.map((r) => r.properties?.userProperties?.[REPLY_MORE_PROPERTY]);
      expect(replies.map((r) => r.payload.toString())).toEqual(['1', '2', '3']);
      expect(flags).toEqual(['1', '1', undefined]);
    } finally {
      await spy.endAsync();
    }
  });
});

describe('reply protocol in memory (MqttAsyncTestBroker)', () => {
  let broker: MqttAsyncTestBroker;
  let app: INestMicroservice;
  let client: ClientMqttAsync;
  let responder: MqttDriverClient;

  beforeAll(async () => {
    broker = new MqttAsyncTestBroker();
    responder = await broker.connect({ protocolVersion: 5 });
    await plainDriverResponder(responder);
    const moduleRef = await Test.createTestingModule({ controllers: [StreamController] }).compile();
    app = moduleRef.createNestMicroservice({ strategy: broker.createServer(), logger: false });
    await app.listen();
    client = broker.createClient({ requestTimeout: REQUEST_TIMEOUT });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await responder?.disconnect();
    await broker?.close();
  });

  it('a plain responder (no user properties) completes lastValueFrom(send()) and broker.request() at once', async () => {
    expect(await within(lastValueFrom(client.send('plain/echo', { n: 7 })), 'lastValueFrom(send())')).toEqual({
      echoed: 7,
    });
    expect(await within(broker.request('plain/echo', { n: 9 }), 'broker.request()')).toEqual({ echoed: 9 });
  });

  streamingCases(() => ({ client }));

  it('requests and their replies travel at QoS 0 by default (no PUBACK in a round trip); requestQos: 1 opts in', async () => {
    broker.clear();
    await within(lastValueFrom(client.send('proto/stream/sync', {})), 'send()');
    const qosOf = () =>
      broker.published().map((r) => [r.topic.startsWith('nest-mqtt-async/replies/') ? 'reply' : r.topic, r.qos]);
    expect(qosOf()).toEqual([
      ['proto/stream/sync', 0],
      ['reply', 0],
      ['reply', 0],
      ['reply', 0],
    ]);
    const qos1 = broker.createClient({ requestQos: 1, requestTimeout: REQUEST_TIMEOUT });
    try {
      broker.clear();
      await within(lastValueFrom(qos1.send('proto/stream/sync', {})), 'send()');
      expect(qosOf()).toEqual([
        ['proto/stream/sync', 1],
        ['reply', 1],
        ['reply', 1],
        ['reply', 1],
      ]);
      // emit() keeps its own default, QoS 1
      broker.clear();
      await lastValueFrom(client.emit('proto/event', { e: 1 }));
      expect(qosOf()).toEqual([['proto/event', 1]]);
    } finally {
      await qos1.close();
    }
  });

  it('broker.request() resolves with the last of 3 streamed replies', async () => {
    expect(await within(broker.request('proto/stream/async', {}), 'broker.request()')).toBe(3);
    expect(await within(broker.request('proto/stream/sync', {}), 'broker.request()')).toBe(3);
  });
});

describe('decodeReplyFlags', () => {
  it('is final without our flags, not final only with more-follows; error and empty are final', () => {
    expect(decodeReplyFlags({})).toEqual({ final: true, error: false, empty: false });
    expect(decodeReplyFlags({ other: 'x' })).toEqual({ final: true, error: false, empty: false });
    expect(decodeReplyFlags({ [REPLY_MORE_PROPERTY]: '1' })).toEqual({ final: false, error: false, empty: false });
    expect(decodeReplyFlags({ 'nest-mqtt-async:error': '1' })).toEqual({ final: true, error: true, empty: false });
    expect(decodeReplyFlags({ 'nest-mqtt-async:empty': '1' })).toEqual({ final: true, error: false, empty: true });
  });
});
