import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type MqttDriverClient, type MqttMessage, type Subscription } from '../../lib/driver/index.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../sample/broker/embedded-broker.js';
import { FrameSplitter } from '../../sample/broker/frames.js';
import { eventually } from '../support/eventually.js';

async function drain(sub: Subscription, into: string[]): Promise<void> {
  for await (const m of sub as AsyncIterable<MqttMessage>) {
    into.push(m.payload.toString());
    await m.ack();
  }
}

const until = (predicate: () => boolean) => eventually(predicate, 'the embedded broker', 10_000);

describe('FrameSplitter', () => {
  it('gives whole packets whatever the chunking, including multi-byte remaining lengths', () => {
    const big = Buffer.concat([Buffer.from([0x30, 0x80, 0x01]), Buffer.alloc(128, 7)]); // 128-byte body
    const small = Buffer.from([0xc0, 0x00]);
    const stream = Buffer.concat([small, big, small]);
    for (const size of [1, 2, 3, 50, stream.length]) {
      const splitter = new FrameSplitter();
      const frames: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...splitter.push(stream.subarray(i, i + size)));
      expect(frames.map((f) => f.length)).toEqual([2, 131, 2]);
    }
  });
});

describe('embedded broker (aedes 2 + $share groups)', () => {
  let broker: EmbeddedBroker;
  const clients: MqttDriverClient[] = [];
  const client = async (protocolVersion: 4 | 5 = 5) => {
    const c = await connect(broker.url, { protocolVersion, reconnect: false });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0 });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)));
    await broker.close();
  });

  it('splits a group round robin (v5 and 3.1.1 members) while plain subscribers get everything', async () => {
    const [a, b, c, plain, publisher] = await Promise.all([client(5), client(5), client(4), client(5), client(5)]);
    const got = { a: [] as string[], b: [] as string[], c: [] as string[], plain: [] as string[] };
    const subs = await Promise.all([
      a.subscribe('$share/g1/jobs/+', { qos: 1, ack: 'manual' }),
      b.subscribe('$share/g1/jobs/+', { qos: 1, ack: 'manual' }),
      c.subscribe('$share/g1/jobs/+', { qos: 1, ack: 'manual' }),
      plain.subscribe('jobs/#', { qos: 1, ack: 'manual' }),
    ]);
    expect(subs.map((s) => s.granted[0])).toEqual([1, 1, 1, 1]);
    void drain(subs[0] as Subscription, got.a);
    void drain(subs[1] as Subscription, got.b);
    void drain(subs[2] as Subscription, got.c);
    void drain(subs[3] as Subscription, got.plain);
    const sent = Array.from({ length: 60 }, (_, i) => `m${i}`);
    for (const m of sent) await publisher.publish('jobs/x', m, { qos: 1 });
    await until(() => got.plain.length === 60 && got.a.length + got.b.length + got.c.length === 60);
    expect([...got.a, ...got.b, ...got.c].sort()).toEqual([...sent].sort());
    expect([got.a.length, got.b.length, got.c.length]).toEqual([20, 20, 20]);
    expect(got.plain).toEqual(sent);
    await Promise.all(subs.map((s) => s.unsubscribe()));
  });

  it('keeps delivering to the remaining members after one leaves or disconnects', async () => {
    const [a, b, publisher] = await Promise.all([client(5), client(5), client(5)]);
    const got = { a: [] as string[], b: [] as string[] };
    const subA = await a.subscribe('$share/g2/work', { qos: 1, ack: 'manual' });
    const subB = await b.subscribe('$share/g2/work', { qos: 1, ack: 'manual' });
    void drain(subA, got.a);
    void drain(subB, got.b);
    await publisher.publish('work', 'before', { qos: 1 });
    await until(() => got.a.length + got.b.length === 1);
    await subA.unsubscribe();
    for (const m of ['1', '2', '3']) await publisher.publish('work', m, { qos: 1 });
    await until(() => got.b.length + got.a.length === 4);
    expect(got.a.length + got.b.length).toBe(4);
    expect(got.b).toEqual(expect.arrayContaining(['1', '2', '3']));
    await b.disconnect();
    const c = await client(5);
    const subC = await c.subscribe('$share/g2/work', { qos: 1, ack: 'manual' });
    const gotC: string[] = [];
    void drain(subC, gotC);
    await publisher.publish('work', 'after', { qos: 1 });
    await until(() => gotC.length === 1);
    expect(gotC).toEqual(['after']);
  });

  it('takes a free port when the requested one is in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const other = await startEmbeddedBroker({ port: taken });
    try {
      expect(other.port).not.toBe(taken);
      expect(other.url).toBe(`mqtt://127.0.0.1:${other.port}`);
      const c = await connect(other.url, { reconnect: false });
      await c.disconnect();
    } finally {
      await other.close();
      await new Promise((r) => blocker.close(r));
    }
  });
});
