import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  connect,
  type MqttClientOptions,
  type MqttDriverClient,
  type MqttMessage,
  type Subscription,
} from '../../lib/driver/index.js';
import { MqttAsyncTestBroker } from '../../lib/testing/index.js';
import { take } from '../support/messages.js';
import { startMosquitto } from '../support/mosquitto.js';

/** A broker the driver-level semantics run against: the in-memory one or a private mosquitto. */
export interface DriverWorld {
  connect(options?: MqttClientOptions): Promise<MqttDriverClient>;
  close(): Promise<void>;
}

export type DriverWorldFactory = () => Promise<DriverWorld>;

export const memoryDriverWorld: DriverWorldFactory = async () => {
  const broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
  return { connect: (o) => broker.connect(o), close: () => broker.close() };
};

export const mosquittoDriverWorld: DriverWorldFactory = async () => {
  const broker = await startMosquitto();
  const clients: MqttDriverClient[] = [];
  return {
    async connect(o = {}) {
      const c = await connect(broker.url, { reconnect: false, ...o });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.disconnect()));
      await broker.stop();
    },
  };
};

const text = (ms: MqttMessage[]) => ms.map((m) => m.payload.toString());
const topics = (ms: MqttMessage[]) => ms.map((m) => m.topic);

/**
 * Broker semantics seen through the driver interface, written once and run on the in-memory broker and on
 * mosquitto. "Nothing else arrived" is proven by a sentinel published last on the same subscription: MQTT keeps
 * the order of one publisher's messages, so anything that was going to arrive came before it.
 */
export function runDriverSemantics(makeWorld: DriverWorldFactory): void {
  describe.each([5, 4] as const)('MQTT %s', (version) => {
    let world: DriverWorld;
    let pub: MqttDriverClient;
    let sub: MqttDriverClient;
    beforeEach(async () => {
      world = await makeWorld();
      pub = await world.connect({ protocolVersion: version, clientId: `pub-${version}` });
      sub = await world.connect({ protocolVersion: version, clientId: `sub-${version}` });
    });
    afterEach(async () => {
      await world.close();
    });
    const end = (t: string) => pub.publish(t, 'end', { qos: 1 });

    it('matches + and # by MQTT rules; leading wildcards never match $ topics', async () => {
      const plus = await sub.subscribe('a/+/c', { qos: 1 });
      const hash = await sub.subscribe('#', { qos: 1 });
      const dollar = await sub.subscribe('$x/+', { qos: 1 });
      for (const t of ['a/b/c', 'a/b', '$x/y', 'a/b/c/d']) await pub.publish(t, t, { qos: 1 });
      await end('a/end/c');
      expect(topics(await take(plus, 2))).toEqual(['a/b/c', 'a/end/c']);
      expect(topics(await take(hash, 4))).toEqual(['a/b/c', 'a/b', 'a/b/c/d', 'a/end/c']);
      expect(topics(await take(dollar, 1))).toEqual(['$x/y']);
    });

    it('delivers with QoS = min(publish, subscription)', async () => {
      const s1 = await sub.subscribe('q/1', { qos: 1 });
      const s2 = await sub.subscribe('q/2', { qos: 2 });
      const s0 = await sub.subscribe('q/0', { qos: 0 });
      await pub.publish('q/1', 'x', { qos: 2 });
      await pub.publish('q/2', 'x', { qos: 1 });
      await pub.publish('q/0', 'x', { qos: 2 });
      expect((await take(s1, 1))[0]!.qos).toBe(1);
      expect((await take(s2, 1))[0]!.qos).toBe(1);
      expect((await take(s0, 1))[0]!.qos).toBe(0);
    });

    it('gives overlapping Subscriptions of one client each message once, at the QoS the version implies', async () => {
      const wide = await sub.subscribe('ov/#', { qos: 2 });
      const plus = await sub.subscribe('ov/+', { qos: 0 });
      const narrow = await sub.subscribe('ov/a', { qos: 1 });
      await pub.publish('ov/a', '1', { qos: 2 });
      await pub.publish('ov/b', '2', { qos: 2 });
      await end('ov/c/d');
      const [w1, w2, w3] = await take(wide, 3);
      const [p1, p2] = await take(plus, 2);
      const [n1] = await take(narrow, 1);
      expect(text([w1!, w2!, w3!, p1!, p2!, n1!])).toEqual(['1', '2', 'end', '1', '2', '1']);
      // MQTT 5: one copy per subscription, each at its own QoS. 3.1.1 (mosquitto): one copy per client, at the
      // QoS of the most specific matching filter (literal, then +, then #).
      expect([w1, w2, p1, p2, n1].map((m) => m!.qos)).toEqual(version === 5 ? [2, 2, 0, 0, 1] : [1, 0, 1, 0, 1]);
      await end('ov/a');
      expect(text(await take(narrow, 1))).toEqual(['end']);
    });

    it('tags each message with the subscription identifier of the filter it came through (MQTT 5)', async () => {
      const both = await sub.subscribe(['id/+/c', 'id/b/+'], { qos: 1 });
      for (const t of ['id/b/c', 'id/x/c', 'id/b/d']) await pub.publish(t, t, { qos: 1 });
      const got = await take(both, 3);
      const first = both.subscriptionIdentifier;
      expect(got.map((m) => [m.topic, m.properties.subscriptionIdentifier])).toEqual(
        version === 5
          ? [
              ['id/b/c', [first]],
              ['id/x/c', [first]],
              ['id/b/d', [first! + 1]],
            ]
          : [
              ['id/b/c', undefined],
              ['id/x/c', undefined],
              ['id/b/d', undefined],
            ],
      );
    });

    it('sends retained messages to new subscriptions only, flagged; an empty payload clears one', async () => {
      await pub.publish('r/a', 'A', { qos: 1, retain: true });
      await pub.publish('r/b', 'B', { qos: 1, retain: true });
      await pub.publish('r/b', '', { qos: 1, retain: true });
      const s = await sub.subscribe('r/#', { qos: 1 });
      await pub.publish('r/a', 'live', { qos: 1 });
      const got = await take(s, 2);
      expect(got.map((m) => [m.topic, m.payload.toString(), m.retain])).toEqual([
        ['r/a', 'A', true],
        ['r/a', 'live', false],
      ]);
      // mosquitto (the reference) also sends retained messages to a new shared subscription.
      const shared = await sub.subscribe('$share/g/r/#', { qos: 1 });
      await end('r/end');
      expect(text(await take(shared, 2))).toEqual(['A', 'end']);
    });

    if (version === 5) {
      it('MQTT 5: Retain Handling 1 and 2, Retain As Published', async () => {
        await pub.publish('rh/a', 'A', { qos: 1, retain: true });
        const first = await sub.subscribe('rh/+', { qos: 1, retainHandling: 1 });
        expect(text(await take(first, 1))).toEqual(['A']);
        const again = await sub.subscribe('rh/+', { qos: 1, retainHandling: 1 }); // exists: nothing
        const never = await sub.subscribe('rh/#', { qos: 1, retainHandling: 2 });
        const rap = await sub.subscribe('rh/a', { qos: 1, retainAsPublished: true });
        expect(text(await take(rap, 1))).toEqual(['A']);
        await pub.publish('rh/a', 'B', { qos: 1, retain: true });
        expect((await take(again, 1)).map((m) => [m.payload.toString(), m.retain])).toEqual([['B', false]]);
        expect((await take(first, 1)).map((m) => [m.payload.toString(), m.retain])).toEqual([['B', false]]);
        expect((await take(never, 1)).map((m) => [m.payload.toString(), m.retain])).toEqual([['B', false]]);
        expect((await take(rap, 1)).map((m) => [m.payload.toString(), m.retain])).toEqual([['B', true]]);
      });
    }

    it(`No Local ${version === 5 ? 'keeps a client’s own messages from it' : 'does not exist on 3.1.1'}`, async () => {
      const s = await sub.subscribe('nl/+', { qos: 1, noLocal: true });
      await sub.publish('nl/own', 'own', { qos: 1 });
      await end('nl/end');
      expect(text(await take(s, version === 5 ? 1 : 2))).toEqual(version === 5 ? ['end'] : ['own', 'end']);
    });

    it('gives each message of a $share group to one member, and every group gets all', async () => {
      const members: Subscription[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await world.connect({ protocolVersion: version });
        members.push(await c.subscribe('$share/g/jobs/+', { qos: 1 }));
      }
      const other = await sub.subscribe('$share/h/jobs/#', { qos: 1 });
      for (let i = 0; i < 6; i++) await pub.publish(`jobs/${i}`, String(i), { qos: 1 });
      expect(text(await take(other, 6))).toEqual(['0', '1', '2', '3', '4', '5']);
      const received: string[] = [];
      const readers = members.map(async (m) => {
        for await (const msg of m) {
          received.push(msg.payload.toString());
          if (received.length === 6) break;
        }
      });
      await Promise.race(readers);
      expect(received.sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    });

    it(`${version === 5 ? 'passes MQTT 5 properties through' : 'has no properties on 3.1.1'}`, async () => {
      const s = await sub.subscribe('p', { qos: 1 });
      const correlationData = Buffer.from('c');
      await pub.publish('p', '{}', {
        qos: 1,
        properties: {
          userProperties: [
            ['k', 'v'],
            ['k', 'w'],
          ],
          responseTopic: 'r',
          correlationData,
          contentType: 'application/json',
        },
      });
      const [m] = await take(s, 1);
      if (version === 4) {
        expect(m!.properties).toEqual({});
        expect(m!.userProperties).toEqual({});
        return;
      }
      expect(m!.userProperties).toEqual({ k: ['v', 'w'] });
      expect(m!.properties).toMatchObject({ responseTopic: 'r', contentType: 'application/json', correlationData });
      expect(m!.properties.subscriptionIdentifier).toEqual([s.subscriptionIdentifier]);
    });

    it(`answers QoS 1 ${version === 5 ? 'with No matching subscribers (0x10)' : 'with a plain PUBACK'} when nobody listens`, async () => {
      expect((await pub.publish('nobody', 'x', { qos: 1 })).reasonCode).toBe(version === 5 ? 0x10 : 0);
    });

    it('request/response follows the protocol version', async () => {
      const s = await sub.subscribe('svc', { qos: 1 });
      void (async () => {
        for await (const m of s) {
          const to = m.properties.responseTopic ?? 'svc-replies';
          const properties = m.properties.correlationData ? { correlationData: m.properties.correlationData } : {};
          // The requester can have its reply, and the test disconnect, before this publish's PUBACK arrives: it
          // then rejects (disconnect settles what is in flight). A reply that never left fails the request instead.
          await sub.publish(to, `re:${m.payload}`, { qos: 1, properties }).catch(() => undefined);
        }
      })();
      if (version === 4) {
        await expect(pub.request('svc', 'x')).rejects.toThrow('MQTT 3.1.1 has no response topics');
        const reply = await pub.request('svc', 'hi', { qos: 1, responseTopic: 'svc-replies', timeout: 5000 });
        expect(reply.payload.toString()).toBe('re:hi');
      } else {
        const reply = await pub.request('svc', 'hi', { qos: 1, timeout: 5000 });
        expect(reply.payload.toString()).toBe('re:hi');
      }
    });

    it('a persistent session gets unacknowledged messages again with DUP, and what came while away', async () => {
      const options = { protocolVersion: version, clientId: `worker-${version}`, cleanStart: false };
      const persistent = version === 5 ? { ...options, sessionExpiryInterval: 60 } : options;
      const first = await world.connect(persistent);
      const s = await first.subscribe('work/#', { qos: 1, ack: 'manual' });
      await pub.publish('work/1', '1', { qos: 1 });
      await pub.publish('work/2', '2', { qos: 1 });
      const [one, two] = await take(s, 2);
      await one!.ack();
      void two; // read, never acknowledged
      await pub.publish('work/end', 'end', { qos: 1 }); // a barrier: the ack of work/1 reached the broker
      await take(s, 1);
      await first.disconnect();
      await pub.publish('work/3', '3', { qos: 1 });
      const second = await world.connect(persistent);
      const again = await second.subscribe('work/#', { qos: 1 });
      const got = await take(again, 3);
      expect(got.map((m) => [m.topic, m.dup])).toEqual([
        ['work/2', true],
        ['work/end', true],
        ['work/3', false],
      ]);
    });

    if (version === 4) {
      it('refuses an empty client identifier without clean session on 3.1.1', async () => {
        await expect(world.connect({ protocolVersion: 4, cleanStart: false })).rejects.toThrow();
      });
    }
  });
}
