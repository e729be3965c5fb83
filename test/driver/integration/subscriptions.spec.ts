import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClient, type MqttMessage, type Subscription } from '../../../lib/driver/index.js';
import { take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { endMqttJs, mqttJsClient } from '../../support/peers.js';

const SENTINEL = 'sentinel';

/**
 * Everything a subscription received before the sentinel, which the test publishes last from the same client:
 * mosquitto keeps one publisher's order, so whatever else was going to arrive (a duplicate) came before it.
 */
async function untilSentinel(sub: Subscription): Promise<MqttMessage[]> {
  const got: MqttMessage[] = [];
  for (;;) {
    const [m] = await take(sub, 1);
    if (m?.payload.toString() === SENTINEL) return got;
    if (m) got.push(m);
  }
}

describeMosquitto('subscriptions on mosquitto', () => {
  let broker: MosquittoHandle;
  let pub: MqttClient;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient): MqttClient => {
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    broker = await startMosquitto();
    pub = await connect(broker.url, { clientId: 'subs-pub' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await pub?.disconnect();
    await broker?.stop();
  });

  for (const version of [5, 4] as const) {
    it(`v${version}: overlapping subscriptions each get every message exactly once`, async () => {
      const c = track(await connect(broker.url, { protocolVersion: version }));
      const all = await c.subscribe('ov/#', { qos: 1 });
      const plus = await c.subscribe('ov/+/x', { qos: 2 });
      const exact = await c.subscribe('ov/a/x', { qos: 0 });
      for (let i = 0; i < 5; i++) await pub.publish('ov/a/x', String(i), { qos: 1 });
      await pub.publish('ov/b/y', 'only-all', { qos: 1 });
      await pub.publish('ov/a/x', SENTINEL, { qos: 1 });
      const [gotAll, gotPlus, gotExact] = await Promise.all([
        untilSentinel(all),
        untilSentinel(plus),
        untilSentinel(exact),
      ]);
      expect(gotAll.map((m) => m.payload.toString())).toEqual(['0', '1', '2', '3', '4', 'only-all']);
      expect(gotPlus.map((m) => m.payload.toString())).toEqual(['0', '1', '2', '3', '4']);
      expect(gotExact.map((m) => m.payload.toString())).toEqual(['0', '1', '2', '3', '4']);
      if (version === 5) {
        // One PUBLISH per subscription (distinct identifiers), each at its granted QoS. On 3.1.1 mosquitto sends
        // a single PUBLISH per client, so its QoS is the broker's choice.
        expect(gotPlus.map((m) => m.qos)).toEqual([1, 1, 1, 1, 1]);
        expect(gotExact.map((m) => m.qos)).toEqual([0, 0, 0, 0, 0]);
      }
    });

    // On v5 mosquitto sends one PUBLISH per matching filter; the driver gives each self-overlapping filter its
    // own subscription identifier and delivers only the copy of the first matching filter.
    it(`v${version}: one Subscription whose own filters overlap gets each message once`, async () => {
      const c = track(await connect(broker.url, { protocolVersion: version }));
      const both = await c.subscribe(['self/a/#', 'self/a/x'], { qos: 1 });
      for (let i = 0; i < 3; i++) await pub.publish('self/a/x', String(i), { qos: 1 });
      await pub.publish('self/a/y', 'end', { qos: 1 });
      await pub.publish('self/a/x', SENTINEL, { qos: 1 });
      const got = await untilSentinel(both);
      expect(got.map((m) => m.payload.toString())).toEqual(['0', '1', '2', 'end']);
    });
  }

  it('v5: two Subscriptions on the same filter both get each message once; unsubscribing one keeps the other', async () => {
    const c = track(await connect(broker.url));
    const a = await c.subscribe('same/t', { qos: 1 });
    const b = await c.subscribe('same/t', { qos: 1 });
    await pub.publish('same/t', 'one', { qos: 1 });
    await pub.publish('same/t', SENTINEL, { qos: 1 });
    expect((await untilSentinel(a)).map((m) => m.payload.toString())).toEqual(['one']);
    expect((await untilSentinel(b)).map((m) => m.payload.toString())).toEqual(['one']);
    await a.unsubscribe();
    await pub.publish('same/t', 'two', { qos: 1 });
    await pub.publish('same/t', SENTINEL, { qos: 1 });
    expect((await untilSentinel(b)).map((m) => m.payload.toString())).toEqual(['two']);
  });

  it('v5: unsubscribing one of two overlapping subscriptions leaves the other receiving', async () => {
    const c = track(await connect(broker.url));
    const a = await c.subscribe('lap/#', { qos: 1 });
    const b = await c.subscribe('lap/+', { qos: 1 });
    await a.unsubscribe();
    await pub.publish('lap/1', 'still', { qos: 1 });
    await pub.publish('lap/1', SENTINEL, { qos: 1 });
    const got = await untilSentinel(b);
    expect(got.map((m) => m.payload.toString())).toEqual(['still']);
  });

  it('$share: a group splits messages between members, each delivered once in total', async () => {
    const members = (await Promise.all([connect(broker.url), connect(broker.url)])).map(track);
    const subs = await Promise.all(members.map((m) => m.subscribe('$share/workers/jobs/+', { qos: 1 })));
    expect(subs.map((s) => s.granted)).toEqual([[1], [1]]);
    const n = 40;
    for (let i = 0; i < n; i++) await pub.publish(`jobs/${i % 4}`, String(i), { qos: 1 });
    const seen: string[][] = [[], []];
    const readers = subs.map(async (s, k) => {
      for await (const m of s) {
        seen[k]?.push(m.payload.toString());
        if ((seen[0]?.length ?? 0) + (seen[1]?.length ?? 0) >= n) break;
      }
    });
    await Promise.race([readers[0], readers[1]]);
    await Promise.all(subs.map((s) => s.unsubscribe()));
    await Promise.all(readers);
    const all = [...(seen[0] ?? []), ...(seen[1] ?? [])].map(Number).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(seen[0]?.length).toBeGreaterThan(0);
    expect(seen[1]?.length).toBeGreaterThan(0);
  });

  it('$share and a plain subscription on the same client both get the message once', async () => {
    const c = track(await connect(broker.url));
    const shared = await c.subscribe('$share/g1/mix/t', { qos: 1 });
    const plain = await c.subscribe('mix/t', { qos: 1 });
    await pub.publish('mix/t', 'one', { qos: 1 });
    await pub.publish('mix/t', SENTINEL, { qos: 1 });
    const [s, p] = await Promise.all([untilSentinel(shared), untilSentinel(plain)]);
    expect(s.map((m) => m.payload.toString())).toEqual(['one']);
    expect(p.map((m) => m.payload.toString())).toEqual(['one']);
  });

  it('retained messages: delivered with retain=true to new subscribers, cleared by an empty payload', async () => {
    await pub.publish('ret/a', 'kept', { qos: 1, retain: true });
    const c = track(await connect(broker.url));
    const first = await c.subscribe('ret/+', { qos: 1 });
    const [m] = await take(first, 1);
    expect(m?.payload.toString()).toBe('kept');
    expect(m?.retain).toBe(true);
    await pub.publish('ret/a', 'live', { qos: 1, retain: true });
    const [live] = await take(first, 1);
    expect(live?.retain).toBe(false); // a live message to an existing subscription has retain 0 (no RAP)
    await first.unsubscribe();
    const rap = await c.subscribe('ret/a', { qos: 1, retainAsPublished: true, retainHandling: 0 });
    const [again] = await take(rap, 1);
    expect(again?.payload.toString()).toBe('live');
    expect(again?.retain).toBe(true);
    await rap.unsubscribe();
    await pub.publish('ret/a', '', { qos: 1, retain: true });
    const gone = await c.subscribe('ret/a', { qos: 1 });
    // A retained message would come with the SUBACK, before a live sentinel.
    await pub.publish('ret/a', SENTINEL, { qos: 1 });
    expect(await untilSentinel(gone)).toEqual([]);
  });

  it('retainHandling 2 sends no retained messages on subscribe', async () => {
    await pub.publish('rh/a', 'r', { qos: 1, retain: true });
    const c = track(await connect(broker.url));
    const sub = await c.subscribe('rh/a', { qos: 1, retainHandling: 2 });
    await pub.publish('rh/a', 'fresh', { qos: 1 });
    const [m] = await take(sub, 1);
    expect(m?.payload.toString()).toBe('fresh');
    await c.disconnect();
    await pub.publish('rh/a', '', { qos: 1, retain: true });
  });

  it('retained message published by MQTT.js reaches a later driver subscriber', async () => {
    const peer = await mqttJsClient(broker.url);
    await peer.publishAsync('ret/js', 'from-js', { qos: 2, retain: true });
    await endMqttJs(peer, false);
    const c = track(await connect(broker.url, { protocolVersion: 4 }));
    const sub = await c.subscribe('ret/js', { qos: 2 });
    const [m] = await take(sub, 1);
    expect(m?.payload.toString()).toBe('from-js');
    expect(m?.retain).toBe(true);
    expect(m?.qos).toBe(2);
  });
});
