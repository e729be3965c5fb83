/**
 * Inbound acknowledgement bookkeeping (lib/driver/session/inbound.ts) seen on the wire, scripted fake broker:
 * one PUBLISH held by several Subscriptions, packet ids reused after a refusal or across QoS levels, and a
 * message the application still holds when the link drops (the broker's DUP resend binds to it).
 * Each case closes a mutant that survived the session scope of `npm run mutate` (docs/mutation.md).
 */
import { describe, expect, it } from '@jest/globals';
import type { Packet, PublishPacket } from '../../../lib/driver/codec/packets.js';
import { connectClient, VERSIONS, type Watched } from '../../hostile/harness.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { take } from '../../support/messages.js';

const broker = useFakeBroker();

const publish = (packetId: number, qos: 1 | 2, payload: string, dup = false): PublishPacket => ({
  type: 'publish',
  topic: 'in/t',
  qos,
  retain: false,
  dup,
  packetId,
  payload: Buffer.from(payload),
});

type Ack = Extract<Packet, { type: 'puback' | 'pubrec' }>;
const acksOf = (w: Watched | { received: Packet[] }, type: Ack['type']) =>
  ('conn' in w ? w.conn.received : w.received)
    .filter((p): p is Ack => p.type === type)
    .map((p) => ({ id: p.packetId, rc: (p as { reasonCode?: number }).reasonCode ?? 0 }));

describe('v5: one PUBLISH handed to two Subscriptions (no subscription identifier)', () => {
  it.each([
    ['nack(0x87) then ack()', ['nack', 'ack'], 0x87],
    ['ack() then nack(0x87)', ['ack', 'nack'], 0x87],
    ['ack() then ack()', ['ack', 'ack'], 0],
    ['nack(0x87) then nack(0x83)', ['nack', 'nack83'], 0x87],
  ] as const)('%s: one PUBACK, after both settled, carrying the first refusal', async (_name, order, code) => {
    const w = await connectClient(broker, 5);
    try {
      w.conn.autoRespond();
      const a = await w.client.subscribe('in/#', { qos: 1, ack: 'manual' });
      const b = await w.client.subscribe('in/+', { qos: 1, ack: 'manual' });
      w.conn.send(publish(4, 1, 'both'));
      const [ma] = await take(a, 1);
      const [mb] = await take(b, 1);
      const settle = (m: typeof ma, how: 'ack' | 'nack' | 'nack83') =>
        how === 'ack' ? m?.ack() : m?.nack(how === 'nack' ? 0x87 : 0x83);
      await settle(ma, order[0]);
      // Sentinel: a PUBLISH behind it is acked at once; its PUBACK waits for the held one (receive order).
      const c = await w.client.subscribe('other/#', { qos: 1 });
      w.conn.send({ ...publish(5, 1, 'sentinel'), topic: 'other/t' });
      await take(c, 1);
      expect(acksOf(w, 'puback')).toEqual([]);
      await settle(mb, order[1]);
      await w.conn.next('puback');
      await w.conn.next('puback');
      expect(acksOf(w, 'puback')).toEqual([
        { id: 4, rc: code },
        { id: 5, rc: 0 },
      ]);
    } finally {
      await w.client.disconnect();
    }
  });
});

describe('v5: packet ids reused after a refusal or at another QoS', () => {
  it('a DUP PUBLISH whose first copy never arrived (nothing held for its id) is delivered', async () => {
    const w = await connectClient(broker, 5);
    try {
      w.conn.autoRespond();
      const sub = await w.client.subscribe('in/#', { qos: 1 });
      w.conn.send(publish(21, 1, 'first seen as DUP', true));
      const [m] = await take(sub, 1, 5000);
      expect(m?.payload.toString()).toBe('first seen as DUP');
      expect((await w.conn.next('puback')).packetId).toBe(21);
    } finally {
      await w.client.disconnect();
    }
  });

  it('a QoS 2 message refused with 0x80 does not wait for PUBREL: a new PUBLISH with its id is delivered', async () => {
    const w = await connectClient(broker, 5);
    try {
      w.conn.autoRespond();
      const sub = await w.client.subscribe('in/#', { qos: 2, ack: 'manual' });
      w.conn.send(publish(6, 2, 'refused'));
      const [m] = await take(sub, 1);
      await m?.nack(0x80);
      expect(await w.conn.next('pubrec')).toMatchObject({ packetId: 6, reasonCode: 0x80 });
      // The exchange ended with the refusal (no PUBREL follows), so id 6 is free again.
      w.conn.send(publish(6, 2, 'again'));
      w.conn.send(publish(7, 2, 'marker'));
      const [next] = await take(sub, 1);
      expect(next?.payload.toString()).toBe('again');
      await next?.ack();
      const [marker] = await take(sub, 1);
      expect(marker?.payload.toString()).toBe('marker');
      await marker?.ack();
    } finally {
      await w.client.disconnect();
    }
  });

  it('a QoS 1 packet id is not remembered as a QoS 2 one: a QoS 2 PUBLISH reusing it is delivered', async () => {
    const w = await connectClient(broker, 5);
    try {
      w.conn.autoRespond();
      const sub = await w.client.subscribe('in/#', { qos: 2 });
      w.conn.send(publish(3, 1, 'qos1'));
      expect((await take(sub, 1))[0]?.payload.toString()).toBe('qos1');
      expect((await w.conn.next('puback')).packetId).toBe(3);
      w.conn.send(publish(3, 2, 'qos2'));
      w.conn.send(publish(9, 2, 'marker'));
      expect((await take(sub, 1))[0]?.payload.toString()).toBe('qos2');
      expect((await take(sub, 1))[0]?.payload.toString()).toBe('marker');
    } finally {
      await w.client.disconnect();
    }
  });
});

for (const v of VERSIONS) {
  describe(`v${v}: a message still held by the application when the link drops`, () => {
    async function heldAcrossReconnect(qos: 1 | 2) {
      const w = await connectClient(broker, v, {
        clientId: `held-${v}-${qos}`,
        cleanStart: false,
        ...(v === 5 ? { sessionExpiryInterval: 60 } : {}),
        reconnect: { initialDelay: 10 },
      });
      w.conn.autoRespond();
      const sub = await w.client.subscribe('in/#', { qos, ack: 'manual' });
      w.conn.send(publish(11, qos, 'held'));
      const [held] = await take(sub, 1);
      w.conn.close();
      const conn2 = await broker.nextConnection();
      await conn2.handshake({ sessionPresent: true });
      conn2.autoRespond();
      return { w, sub, held, conn2 };
    }

    for (const qos of [1, 2] as const) {
      it(`QoS ${qos}: the broker's DUP resend is not delivered again; ack() then answers it on the new link`, async () => {
        const { w, sub, held, conn2 } = await heldAcrossReconnect(qos);
        try {
          conn2.send(publish(11, qos, 'held', true));
          conn2.send(publish(12, qos, 'marker'));
          const [marker] = await take(sub, 1);
          expect(marker?.payload.toString()).toBe('marker');
          const type = qos === 1 ? 'puback' : 'pubrec';
          // The held message is first in line: nothing is acknowledged before it.
          await marker?.ack();
          expect(acksOf(conn2, type)).toEqual([]);
          await held?.ack();
          await conn2.next(type);
          await conn2.next(type);
          expect(acksOf(conn2, type).map((a) => a.id)).toEqual([11, 12]);
        } finally {
          await w.client.disconnect();
        }
      });
    }

    it('QoS 1: a PUBLISH reusing the held id without DUP is a new message and is delivered', async () => {
      const { w, sub, held, conn2 } = await heldAcrossReconnect(1);
      try {
        conn2.send(publish(11, 1, 'new'));
        const [next] = await take(sub, 1);
        expect(next?.payload.toString()).toBe('new');
        expect(next?.dup).toBe(false);
        await next?.ack();
        expect((await conn2.next('puback')).packetId).toBe(11);
        // The old message's late ack has nothing left to answer.
        await held?.ack();
      } finally {
        await w.client.disconnect();
      }
    });

    it('a DUP resend at another QoS than the held message is delivered as its own message', async () => {
      const { w, sub, conn2 } = await heldAcrossReconnect(1);
      try {
        conn2.send(publish(11, 2, 'other qos', true));
        const [next] = await take(sub, 1);
        expect(next?.payload.toString()).toBe('other qos');
      } finally {
        await w.client.disconnect();
      }
    });
  });
}
