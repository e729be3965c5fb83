/**
 * Conformance on the wire (scripted fake broker): nothing after DISCONNECT (MQTT-3.14.4-1), and PUBLISHes a broker
 * sends before the SUBACK (3.8.4) reach the pending Subscription, once per Subscription.
 */
import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { Packet, PublishPacket } from '../../../lib/driver/codec/packets.js';
import {
  MqttDisconnectedError,
  type MqttMessage,
  type MqttTransportStream,
  type Subscription,
  type TransportFactory,
} from '../../../lib/driver/index.js';
import { connectClient, VERSIONS } from '../../hostile/harness.js';
import { type FakeConnection, useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin, take, until } from '../../support/messages.js';

const broker = useFakeBroker();

/**
 * A TCP transport whose write callbacks can be held back, as a busy socket does: the client's DISCONNECT is then
 * on the wire but the client has not yet closed, which is the window where it used to keep writing.
 */
function holdingTransport() {
  const held: (() => void)[] = [];
  const state = { holding: false, delivered: 0 };
  const factory: TransportFactory = async (url) => {
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const stream: MqttTransportStream = {
      write: (chunk, cb) => socket.write(chunk, (err) => (state.holding ? held.push(() => cb?.(err)) : cb?.(err))),
      end: () => socket.end(),
      destroy: (err) => socket.destroy(err),
      // biome-ignore lint/suspicious/noExplicitAny: one implementation of the interface's overloads
      on: (event: string, listener: (...args: any[]) => void) => {
        if (event !== 'data') return socket.on(event, listener);
        return socket.on('data', (chunk: Buffer) => {
          listener(chunk);
          state.delivered += chunk.length;
        });
      },
    };
    return stream;
  };
  const release = () => {
    state.holding = false;
    for (const f of held.splice(0)) f();
  };
  return { factory, state, release };
}

const pub = (topic: string, payload: string, qos: 0 | 1 | 2, packetId?: number, ids?: number[]): PublishPacket => ({
  type: 'publish',
  topic,
  qos,
  retain: false,
  dup: false,
  payload: Buffer.from(payload),
  ...(packetId === undefined ? {} : { packetId }),
  ...(ids ? { properties: { subscriptionIdentifier: ids } } : {}),
});

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => e,
  );

for (const v of VERSIONS) {
  describe(`v${v}: MQTT-3.14.4-1 nothing is written after DISCONNECT`, () => {
    it('no ack, PUBCOMP, publish or SUBSCRIBE follows it; what was pending settles; late messages are not delivered', async () => {
      const t = holdingTransport();
      const w = await connectClient(broker, v, { transport: t.factory });
      w.conn.autoRespond();
      const rc = v === 5 ? { reasonCode: 0 } : {};
      const sub = await w.client.subscribe('win/#', { qos: 2, ack: 'manual' });
      w.conn.send(pub('win/q2', 'two', 2, 7));
      w.conn.send(pub('win/q1', 'one', 1, 8));
      const [m2, m1] = await take(sub, 2);
      await m2?.ack();
      await w.conn.next('pubrec');

      t.state.holding = true;
      const closing = w.client.disconnect();
      // The same turn as disconnect(): all of this used to go out after the DISCONNECT.
      const q0 = rejection(w.client.publish('win/out', 'q0'));
      const q1 = rejection(w.client.publish('win/out', 'q1', { qos: 1 }));
      const subscribing = rejection(w.client.subscribe('win/other'));
      void m1?.ack();
      await w.conn.next('disconnect');
      // The broker, not knowing yet, completes the QoS 2 flow and sends one more message.
      w.conn.send({ type: 'pubrel', packetId: 7, ...rc });
      w.conn.send(pub('win/late', 'late', 1, 9));
      await until(() => t.state.delivered >= w.conn.socket.bytesWritten, 5000, 'the client reading it all');
      t.release();
      await settlesWithin(closing, 5000, 'disconnect()');
      await settlesWithin(w.conn.closed, 5000, 'the socket closing');

      const after = w.conn.received.slice(w.conn.received.findIndex((p) => p.type === 'disconnect') + 1);
      expect(after.map((p: Packet) => p.type)).toEqual([]);
      expect(w.conn.received.filter((p) => p.type === 'disconnect')).toHaveLength(1);
      for (const settled of [q0, q1, subscribing]) {
        expect(await settlesWithin(settled, 5000, 'a pending operation')).toBeInstanceOf(MqttDisconnectedError);
      }
      const rest: string[] = [];
      for await (const m of sub) rest.push(m.payload.toString());
      expect(rest).not.toContain('late');
      expect(w.client.status).toBe('closed');
    });
  });
}

/** Reads every message of `subs` up to and including the sentinel. */
async function untilSentinel(sub: Subscription): Promise<string[]> {
  const got: string[] = [];
  while (got.at(-1) !== 'sentinel') {
    const [m] = (await take(sub, 1)) as [MqttMessage];
    got.push(m.payload.toString());
  }
  return got;
}

interface PreSubackCase {
  name: string;
  v: 4 | 5;
  /** The new Subscription's filters (the existing one holds `pre/#`). */
  filters: string[];
  /** Subscription identifiers of each copy the broker sends, given the old and the new identifier. */
  copies: (oldId: number, newId: number) => (number[] | undefined)[];
}

const PRE_SUBACK: PreSubackCase[] = [
  { name: '3.1.1 (no identifiers)', v: 4, filters: ['pre/retained'], copies: () => [undefined] },
  { name: '3.1.1, overlapping filters, one copy', v: 4, filters: ['pre/retained', 'pre/+'], copies: () => [undefined] },
  { name: 'v5, identifier omitted', v: 5, filters: ['pre/retained'], copies: () => [undefined] },
  { name: 'v5, one copy per subscription', v: 5, filters: ['pre/retained'], copies: (o, n) => [[o], [n]] },
  { name: 'v5, one copy naming both', v: 5, filters: ['pre/retained'], copies: (o, n) => [[o, n]] },
  { name: 'v5, same filter, old identifier reused', v: 5, filters: ['pre/#'], copies: (o) => [[o]] },
  {
    name: 'v5, overlapping filters, one copy per filter',
    v: 5,
    filters: ['pre/retained', 'pre/+'],
    copies: (o, n) => [[o], [n], [n + 1]],
  },
];

describe('3.8.4: PUBLISHes sent before the SUBACK reach the pending Subscription, once per Subscription', () => {
  for (const c of PRE_SUBACK) {
    it(c.name, async () => {
      const w = await connectClient(broker, c.v);
      const conn: FakeConnection = w.conn;
      const suback = async () => {
        const s = await conn.next('subscribe');
        return {
          id: s.properties?.subscriptionIdentifier ?? 0,
          ack: () => conn.send({ type: 'suback', packetId: s.packetId, reasonCodes: s.subscriptions.map(() => 0) }),
        };
      };
      const existing = w.client.subscribe('pre/#');
      const first = await suback();
      first.ack();
      const a = await existing;
      const pending = w.client.subscribe(c.filters);
      // One SUBSCRIBE per non-overlapping group of filters (v5); the retained message comes before any SUBACK.
      const acks = [await suback()];
      if (c.v === 5 && c.filters.length > 1) acks.push(await suback());
      const newId = acks[0]?.id as number;
      const send = (payload: string) => {
        for (const ids of c.copies(first.id, newId)) conn.send(pub('pre/retained', payload, 0, undefined, ids));
      };
      send('retained');
      for (const s of acks) s.ack();
      const b = await pending;
      send('sentinel');
      expect(await untilSentinel(b)).toEqual(['retained', 'sentinel']);
      expect(await untilSentinel(a)).toEqual(['retained', 'sentinel']);
      expect(w.errors).toEqual([]);
      await w.client.disconnect();
    });
  }

  for (const v of VERSIONS) {
    it(`v${v}: a partly refused SUBSCRIBE: what reached it before the SUBACK is acknowledged; the granted filter is unsubscribed`, async () => {
      const w = await connectClient(broker, v);
      const pending = w.client.subscribe(['ref/a', 'ref/b'], { qos: 1 });
      const s = await w.conn.next('subscribe');
      w.conn.send(pub('ref/a', 'early', 1, 3));
      w.conn.send({ type: 'suback', packetId: s.packetId, reasonCodes: [1, 0x80] });
      await expect(pending).rejects.toThrow(/refused/);
      expect((await w.conn.next('puback')).packetId).toBe(3);
      expect((await w.conn.next('unsubscribe')).topicFilters).toEqual(['ref/a']);
      await w.client.disconnect();
    });
  }
});
