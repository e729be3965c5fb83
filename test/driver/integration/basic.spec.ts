import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type MqttClient } from '../../../lib/driver/index.js';
import { type AedesHandle, startAedes } from '../../support/aedes.js';
import { take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

type Broker = { url: string; stop(): Promise<void> };
interface Target {
  name: string;
  version: 4 | 5;
  start(): Promise<Broker>;
}

const aedesTargets: Target[] = [
  { name: 'aedes 1.x (3.1.1)', version: 4, start: (): Promise<AedesHandle> => startAedes({ version: 4 }) },
  { name: 'aedes 2 beta (5)', version: 5, start: (): Promise<AedesHandle> => startAedes({ version: 5 }) },
];
// Without mosquitto these are listed as skipped (they used to vanish from the counts).
const mosquittoTargets: Target[] = [
  { name: 'mosquitto (5)', version: 5, start: (): Promise<MosquittoHandle> => startMosquitto() },
  { name: 'mosquitto (3.1.1)', version: 4, start: (): Promise<MosquittoHandle> => startMosquitto() },
];

describe.each(aedesTargets)('driver basics on $name', (target) => basics(target));
describeMosquitto.each(mosquittoTargets)('driver basics on $name', (target) => basics(target));

function basics({ version, start }: Target): void {
  let broker: Broker;
  let a: MqttClient;
  let b: MqttClient;
  beforeAll(async () => {
    broker = await start();
    a = await connect(broker.url, { protocolVersion: version, clientId: `basic-a-${version}` });
    b = await connect(broker.url, { protocolVersion: version, clientId: `basic-b-${version}` });
  });
  afterAll(async () => {
    await a?.disconnect();
    await b?.disconnect();
    await broker?.stop();
  });

  it('connects with the requested protocol version', () => {
    expect(a.status).toBe('connected');
    expect(a.protocolVersion).toBe(version);
  });

  it.each([0, 1, 2] as const)(
    'QoS %i both ways: publish resolves, the subscriber receives it with that QoS',
    async (qos) => {
      const sub = await b.subscribe(`basic/q${qos}`, { qos });
      expect(sub.granted).toEqual([qos]);
      const result = await a.publish(`basic/q${qos}`, `payload-${qos}`, { qos });
      expect(result.reasonCode).toBe(0);
      if (qos > 0) expect(result.packetId).toBeGreaterThan(0);
      const [m] = await take(sub, 1);
      expect(m?.topic).toBe(`basic/q${qos}`);
      expect(m?.payload.toString()).toBe(`payload-${qos}`);
      expect(Buffer.isBuffer(m?.payload)).toBe(true);
      expect(m?.qos).toBe(qos);
      expect(m?.retain).toBe(false);
      await sub.unsubscribe();
    },
  );

  it('delivers with min(publish QoS, granted QoS)', async () => {
    const sub = await b.subscribe('basic/down', { qos: 1 });
    await a.publish('basic/down', 'x', { qos: 2 });
    const [m] = await take(sub, 1);
    expect(m?.qos).toBe(1);
    await sub.unsubscribe();
  });

  it('iterates a subscription in publish order and ends the iteration on unsubscribe()', async () => {
    const sub = await b.subscribe(['basic/it/+', 'basic/other'], { qos: 1 });
    expect(sub.filters).toEqual(['basic/it/+', 'basic/other']);
    expect(sub.granted).toEqual([1, 1]);
    for (let i = 0; i < 20; i++) await a.publish(`basic/it/${i % 3}`, String(i), { qos: 1 });
    await a.publish('basic/other', 'last', { qos: 1 });
    const got: string[] = [];
    for await (const m of sub) {
      got.push(m.payload.toString());
      if (got.length === 21) break; // break → return() → unsubscribe
    }
    expect(got).toEqual([...Array.from({ length: 20 }, (_, i) => String(i)), 'last']);
    const after = await sub[Symbol.asyncIterator]().next();
    expect(after.done).toBe(true);
    await sub.unsubscribe(); // idempotent
  });

  it('stops delivery after unsubscribe(): a later subscription sees only later messages', async () => {
    const first = await b.subscribe('basic/unsub', { qos: 1 });
    await first.unsubscribe();
    await a.publish('basic/unsub', 'dropped', { qos: 1 });
    const second = await b.subscribe('basic/unsub', { qos: 1 });
    await a.publish('basic/unsub', 'kept', { qos: 1 });
    const [m] = await take(second, 1);
    expect(m?.payload.toString()).toBe('kept');
    expect((await first[Symbol.asyncIterator]().next()).done).toBe(true);
    await second.unsubscribe();
  });

  it('await using unsubscribes at the end of the scope', async () => {
    let outer: { unsubscribe(): Promise<void>; [Symbol.asyncIterator](): AsyncIterator<unknown> } | undefined;
    {
      await using sub = await b.subscribe('basic/using', { qos: 1 });
      outer = sub;
      await a.publish('basic/using', 'inside', { qos: 1 });
      const [m] = await take(sub, 1);
      expect(m?.payload.toString()).toBe('inside');
    }
    expect((await outer?.[Symbol.asyncIterator]().next())?.done).toBe(true);
    // The broker no longer routes to us: a fresh subscription receives the next message only once.
    const probe = await b.subscribe('basic/using', { qos: 1 });
    await a.publish('basic/using', 'after', { qos: 1 });
    const [m] = await take(probe, 1);
    expect(m?.payload.toString()).toBe('after');
    await probe.unsubscribe();
  });

  it('a client receives its own publishes (noLocal off) and binary payloads survive', async () => {
    const sub = await a.subscribe('basic/bin', { qos: 2 });
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    await a.publish('basic/bin', bytes, { qos: 2 });
    const [m] = await take(sub, 1);
    expect(Buffer.compare(m?.payload as Buffer, Buffer.from(bytes))).toBe(0);
    await sub.unsubscribe();
  });
}
