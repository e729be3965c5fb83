/**
 * Inbound acknowledgements seen on the wire (scripted fake broker): nack(reasonCode) on a real connection, and a
 * QoS 2 PUBLISH the broker retransmits before it sends PUBREL.
 */
import { describe, expect, it } from '@jest/globals';
import type { Packet, PublishPacket } from '../../../lib/driver/codec/packets.js';
import { connectClient, VERSIONS, type Watched } from '../../hostile/harness.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { take } from '../../support/messages.js';

const broker = useFakeBroker();

const publish = (packetId: number, qos: 1 | 2, payload: string, dup = false): PublishPacket => ({
  type: 'publish',
  topic: 'acks/t',
  qos,
  retain: false,
  dup,
  packetId,
  payload: Buffer.from(payload),
});

type Ack = Extract<Packet, { type: 'puback' | 'pubrec' | 'pubcomp' }>;
const acksOf = (w: Watched, type: Ack['type']): { id: number; rc: number | undefined }[] =>
  w.conn.received
    .filter((p): p is Ack => p.type === type)
    .map((p) => ({ id: p.packetId, rc: (p as { reasonCode?: number }).reasonCode }));

for (const v of VERSIONS) {
  describe(`v${v}: nack() on a real connection`, () => {
    for (const qos of [1, 2] as const) {
      const ackType = qos === 1 ? 'puback' : 'pubrec';
      it(`QoS ${qos}: ${ackType.toUpperCase()} ${v === 5 ? 'carries the reason code' : 'is a plain acknowledgement'}, sent once whatever is called after`, async () => {
        const w = await connectClient(broker, v);
        w.conn.autoRespond();
        const sub = await w.client.subscribe('acks/#', { qos, ack: 'manual' });
        w.conn.send(publish(5, qos, 'refused'));
        const [m] = await take(sub, 1);
        await m?.nack(0x87);
        await m?.nack(0x80);
        await m?.ack();
        // A later message, acknowledged: its ack leaves after the first one's, so once it is here, any second
        // acknowledgement of packet 5 would be too.
        w.conn.send(publish(6, qos, 'accepted'));
        const [m2] = await take(sub, 1);
        await m2?.ack();
        await m2?.ack();
        // Sentinel: a third message acknowledged after both; once its ack is here, a second ack of 6 would be too.
        w.conn.send(publish(7, qos, 'sentinel'));
        const [m3] = await take(sub, 1);
        await m3?.ack();
        for (let i = 0; i < 3; i++) await w.conn.next(ackType);
        const refused = v === 5 ? 0x87 : undefined;
        const ok = v === 5 ? 0 : undefined;
        // On 3.1.1 the decoder rejects any byte after the packet id: no reason code means a plain ack.
        expect(acksOf(w, ackType)).toEqual([
          { id: 5, rc: refused },
          { id: 6, rc: ok },
          { id: 7, rc: ok },
        ]);
        if (qos === 2) {
          if (v === 5) {
            // A refused QoS 2 message is finished at PUBREC: packet id 5 is free, a new PUBLISH with it is new.
            w.conn.send(publish(5, 2, 'new with id 5'));
            const [m4] = await take(sub, 1);
            expect(m4?.payload.toString()).toBe('new with id 5');
            await m4?.ack();
          } else {
            // 3.1.1 cannot refuse: the exchange goes on to PUBREL / PUBCOMP.
            w.conn.send({ type: 'pubrel', packetId: 5 });
            expect((await w.conn.next('pubcomp')).packetId).toBe(5);
          }
        }
        expect(w.errors).toEqual([]);
        await w.client.disconnect();
      });
    }

    if (v === 5) {
      it('nack() without a reason code sends 0x80 (Unspecified error)', async () => {
        const w = await connectClient(broker, v);
        w.conn.autoRespond();
        const sub = await w.client.subscribe('acks/#', { qos: 1, ack: 'manual' });
        w.conn.send(publish(9, 1, 'x'));
        const [m] = await take(sub, 1);
        await m?.nack();
        const puback = await w.conn.next('puback');
        expect(puback).toMatchObject({ packetId: 9, reasonCode: 0x80 });
        await w.client.disconnect();
      });
    }
  });

  describe(`v${v}: QoS 2 retransmitted before PUBREL on the same connection`, () => {
    it('auto ack: delivered once, PUBREC sent again for the DUP, PUBCOMP after PUBREL; the id is then reusable', async () => {
      const w = await connectClient(broker, v);
      w.conn.autoRespond();
      const sub = await w.client.subscribe('acks/#', { qos: 2 });
      w.conn.send(publish(7, 2, 'first'));
      const [m] = await take(sub, 1);
      expect(m?.payload.toString()).toBe('first');
      expect((await w.conn.next('pubrec')).packetId).toBe(7);
      // The broker did not see our PUBREC (or resends anyway): same packet id, DUP set, twice.
      w.conn.send(publish(7, 2, 'first', true));
      expect((await w.conn.next('pubrec')).packetId).toBe(7);
      w.conn.send(publish(7, 2, 'first', true));
      expect((await w.conn.next('pubrec')).packetId).toBe(7);
      w.conn.send({ type: 'pubrel', packetId: 7, ...(v === 5 ? { reasonCode: 0 } : {}) });
      expect((await w.conn.next('pubcomp')).packetId).toBe(7);
      // After PUBCOMP the id starts a new message, which is delivered; the DUPs never were.
      w.conn.send(publish(7, 2, 'second'));
      const [next] = await take(sub, 1);
      expect(next?.payload.toString()).toBe('second');
      expect(next?.dup).toBe(false);
      expect((await w.conn.next('pubrec')).packetId).toBe(7);
      expect(acksOf(w, 'pubrec').map((a) => a.id)).toEqual([7, 7, 7, 7]);
      expect(w.errors).toEqual([]);
      await w.client.disconnect();
    });

    it('manual ack: a DUP arriving before ack() is not delivered and not answered; ack() sends one PUBREC', async () => {
      const w = await connectClient(broker, v);
      w.conn.autoRespond();
      const sub = await w.client.subscribe('acks/#', { qos: 2, ack: 'manual' });
      w.conn.send(publish(8, 2, 'held'));
      const [m] = await take(sub, 1);
      w.conn.send(publish(8, 2, 'held', true));
      // A marker behind the DUP: once it is delivered, the DUP has been handled.
      w.conn.send(publish(10, 2, 'marker'));
      const [marker] = await take(sub, 1);
      expect(marker?.payload.toString()).toBe('marker');
      expect(acksOf(w, 'pubrec')).toEqual([]);
      await m?.ack();
      await marker?.ack();
      await w.conn.next('pubrec');
      await w.conn.next('pubrec');
      w.conn.send({ type: 'pubrel', packetId: 8, ...(v === 5 ? { reasonCode: 0 } : {}) });
      expect((await w.conn.next('pubcomp')).packetId).toBe(8);
      expect(acksOf(w, 'pubrec').map((a) => a.id)).toEqual([8, 10]);
      expect(w.errors).toEqual([]);
      await w.client.disconnect();
    });
  });

  describe(`v${v}: QoS 2 awaiting PUBREL when the session is lost`, () => {
    it('the id is forgotten: a new QoS 2 PUBLISH reusing it on the fresh session is delivered, not taken for a DUP', async () => {
      const w = await connectClient(broker, v, {
        clientId: `acks-lost-${v}`,
        cleanStart: false,
        ...(v === 5 ? { sessionExpiryInterval: 60 } : {}),
        reconnect: { initialDelay: 10 },
      });
      try {
        w.conn.autoRespond();
        const sub = await w.client.subscribe('acks/#', { qos: 2 });
        w.conn.send(publish(7, 2, 'first'));
        const [first] = await take(sub, 1);
        expect(first?.payload.toString()).toBe('first');
        expect((await w.conn.next('pubrec')).packetId).toBe(7);
        // No PUBREL: the link drops and the broker comes back without the session (expired, restarted, cleaned).
        w.conn.close();
        const conn2 = await broker.nextConnection();
        await conn2.handshake({ sessionPresent: false });
        conn2.autoRespond();
        await conn2.next('subscribe');
        conn2.send(publish(7, 2, 'second'));
        // A marker behind it: whatever is taken first shows whether 'second' was delivered or dropped as a DUP.
        conn2.send(publish(8, 2, 'marker'));
        const [next] = await take(sub, 1);
        expect(next?.payload.toString()).toBe('second');
        expect(next?.dup).toBe(false);
        expect((await take(sub, 1))[0]?.payload.toString()).toBe('marker');
        expect((await conn2.next('pubrec')).packetId).toBe(7);
      } finally {
        await w.client.disconnect();
      }
    });
  });
}
