import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { MessagePattern, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import mqtt from 'mqtt';
import {
  concat,
  EMPTY,
  ignoreElements,
  interval,
  map,
  NEVER,
  type Observable,
  of,
  take,
  throwError,
  timer,
} from 'rxjs';
import {
  ClientMqttAsync,
  MqttAsyncRequestTimeoutError,
  REPLY_MORE_PROPERTY,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { eventually } from '../../support/eventually.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

const counting = (n: number) =>
  interval(10).pipe(
    take(n),
    map((i) => i + 1),
  );

@Controller()
class StreamsController {
  @MessagePattern('streams/three/sync')
  threeSync() {
    return of(1, 2, 3);
  }

  /** Each value leaves before the next is emitted, so completion comes after the last value was sent. */
  @MessagePattern('streams/three/async')
  threeAsync() {
    return counting(3);
  }

  @MessagePattern('streams/objects')
  objects() {
    return of({ step: 'a' }, 'text', [1, 2]);
  }

  @MessagePattern('streams/fails')
  fails() {
    return concat(
      counting(2),
      throwError(() => new RpcException({ code: 'E_STREAM', message: 'broke after 2' })),
    );
  }

  @MessagePattern('streams/empty')
  empty() {
    return EMPTY;
  }

  @MessagePattern('streams/empty/late')
  emptyLate() {
    return timer(30).pipe(ignoreElements());
  }

  /**
   * Own subscription group (other options): with concurrency 1 a never-completing handler holds its group's only
   * slot, so the other patterns here would wait behind it.
   */
  @MessagePattern('streams/never', { concurrency: 4 })
  never() {
    return NEVER;
  }
}

type Event = { next: unknown } | { error: unknown } | { complete: true };

/** Everything a send() subscriber is told, in order, until error or complete. */
function events(source: Observable<unknown>): Promise<Event[]> {
  return new Promise((resolve) => {
    const seen: Event[] = [];
    source.subscribe({
      next: (value) => seen.push({ next: value }),
      error: (error) => {
        seen.push({ error });
        resolve(seen);
      },
      complete: () => {
        seen.push({ complete: true });
        resolve(seen);
      },
    });
  });
}

describeMosquitto('Observable handlers streamed into ClientMqttAsync.send() (mosquitto, plain MQTT 5)', () => {
  let broker: MosquittoHandle;
  let app: INestMicroservice;
  let client: ClientMqttAsync;

  beforeAll(async () => {
    broker = await startMosquitto();
    const moduleRef = await Test.createTestingModule({ controllers: [StreamsController] }).compile();
    // shutdownTimeout: the NEVER handler would otherwise hold close() for the default 10 s
    app = moduleRef.createNestMicroservice({
      strategy: new ServerMqttAsync({ url: broker.url, protocolVersion: 5, shutdownTimeout: 200 }),
      logger: false,
    });
    await app.listen();
    client = new ClientMqttAsync({ url: broker.url, protocolVersion: 5 });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await broker?.stop();
  });

  it('streams on plain MQTT 5: bare request with Response Topic, one bare reply per value, all but the last marked more', async () => {
    const spy = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const packets: mqtt.IPublishPacket[] = [];
      spy.on('message', (_t, _p, packet) => packets.push(packet));
      await spy.subscribeAsync(['streams/three/async', 'nest-mqtt-async/replies/#'], { qos: 1 });
      expect(await events(client.send('streams/three/async', { go: true }))).toHaveLength(4);
      // the spy gets the final reply about when the client does
      const final = (p: mqtt.IPublishPacket) =>
        p.topic !== 'streams/three/async' && p.properties?.userProperties?.[REPLY_MORE_PROPERTY] === undefined;
      await eventually(() => packets.some(final), "the spy's copy of the final reply", 10_000);
      const [request, ...replies] = packets;
      expect(request!.topic).toBe('streams/three/async');
      expect(JSON.parse(request!.payload.toString())).toEqual({ go: true });
      const responseTopic = request!.properties?.responseTopic;
      expect(responseTopic).toMatch(/^nest-mqtt-async\/replies\//);
      const correlation = request!.properties?.correlationData;
      expect(correlation).toBeDefined();
      expect(
        replies.every((r) => r.topic === responseTopic && r.properties?.correlationData?.equals(correlation!)),
      ).toBe(true);
      // values 1..3 as bare JSON; completion after the last value left is an empty final reply
      const values = replies.filter((r) => r.payload.length > 0);
      expect(values.map((r) => r.payload.toString())).toEqual(['1', '2', '3']);
      const last = replies.at(-1)!;
      expect(last.properties?.userProperties?.[REPLY_MORE_PROPERTY]).toBeUndefined();
      expect(replies.slice(0, -1).every((r) => r.properties?.userProperties?.[REPLY_MORE_PROPERTY] === '1')).toBe(true);
    } finally {
      await spy.endAsync();
    }
  });

  it('receives the 3 values of a synchronous Observable in order, then completes', async () => {
    expect(await events(client.send('streams/three/sync', {}))).toEqual([
      { next: 1 },
      { next: 2 },
      { next: 3 },
      { complete: true },
    ]);
  });

  it('receives the 3 values of an asynchronous Observable in order, then completes (no extra value)', async () => {
    expect(await events(client.send('streams/three/async', {}))).toEqual([
      { next: 1 },
      { next: 2 },
      { next: 3 },
      { complete: true },
    ]);
  });

  it('keeps each streamed value as it was (object, string, array)', async () => {
    expect(await events(client.send('streams/objects', {}))).toEqual([
      { next: { step: 'a' } },
      { next: 'text' },
      { next: [1, 2] },
      { complete: true },
    ]);
  });

  it('an Observable that errors midway gives its values, then the error', async () => {
    expect(await events(client.send('streams/fails', {}))).toEqual([
      { next: 1 },
      { next: 2 },
      { error: { code: 'E_STREAM', message: 'broke after 2' } },
    ]);
  });

  it('an empty Observable completes with no value (also when it completes later)', async () => {
    expect(await events(client.send('streams/empty', {}))).toEqual([{ complete: true }]);
    expect(await events(client.send('streams/empty/late', {}))).toEqual([{ complete: true }]);
  });

  it('a handler that never answers errors the subscriber with MqttAsyncRequestTimeoutError after requestTimeout', async () => {
    const impatient = new ClientMqttAsync({ url: broker.url, protocolVersion: 5, requestTimeout: 300 });
    try {
      const t0 = Date.now();
      const seen = await events(impatient.send('streams/never', {}));
      const elapsed = Date.now() - t0;
      expect(seen).toHaveLength(1);
      const { error } = seen[0] as { error: unknown };
      expect(error).toBeInstanceOf(MqttAsyncRequestTimeoutError);
      expect((error as Error).name).toBe('MqttAsyncRequestTimeoutError');
      expect((error as Error).message).toContain("'streams/never'");
      expect((error as Error).message).toContain('300 ms');
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(2000);
      // the client still works after a timed-out request
      expect(await events(impatient.send('streams/three/sync', {}))).toEqual([
        { next: 1 },
        { next: 2 },
        { next: 3 },
        { complete: true },
      ]);
    } finally {
      await impatient.close();
    }
  });
});
