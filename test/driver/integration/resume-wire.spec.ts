/**
 * Outgoing QoS 1/2 publishes in flight when the link drops, seen on the wire (scripted fake broker): resent with
 * DUP / PUBREL when the next CONNACK has session present, resent as new messages when it does not. None is lost.
 */
import { describe, expect, it } from '@jest/globals';
import type { Packet, PublishPacket } from '../../../lib/driver/codec/packets.js';
import { connect, type MqttClient, type PublishResult } from '../../../lib/driver/index.js';
import { VERSIONS } from '../../hostile/harness.js';
import { type FakeConnection, useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin } from '../../support/messages.js';

const broker = useFakeBroker();

const flow = (packets: readonly Packet[]) =>
  packets
    .filter((p) => p.type === 'publish' || p.type === 'pubrel')
    .map((p) =>
      p.type === 'publish'
        ? { type: p.type, topic: p.topic, qos: p.qos, dup: p.dup, packetId: p.packetId }
        : { type: p.type, packetId: p.packetId },
    );

/** Sends a, b (QoS 2), c; only b gets PUBREC (so PUBREL goes out); then the link drops. */
async function inFlightAtCut(v: 4 | 5): Promise<{
  client: MqttClient;
  results: Promise<PublishResult[]>;
  before: PublishPacket[];
  conn2: FakeConnection;
}> {
  const pending = connect(broker.url, {
    protocolVersion: v,
    clientId: `resume-${v}`,
    cleanStart: false,
    sessionExpiryInterval: v === 5 ? 60 : undefined,
    keepalive: 0,
    reconnect: { initialDelay: 10 },
  });
  const conn = await broker.nextConnection();
  await conn.handshake();
  const client = await pending;
  const results = Promise.all([
    client.publish('r/a', 'a', { qos: 1 }),
    client.publish('r/b', 'b', { qos: 2 }),
    client.publish('r/c', 'c', { qos: 1 }),
  ]);
  const before = [await conn.next('publish'), await conn.next('publish'), await conn.next('publish')];
  conn.send({ type: 'pubrec', packetId: before[1]?.packetId as number, ...(v === 5 ? { reasonCode: 0 } : {}) });
  await conn.next('pubrel');
  conn.close();
  const conn2 = await broker.nextConnection();
  return { client, results, before, conn2 };
}

for (const v of VERSIONS) {
  describe(`v${v}: in-flight publishes across a reconnect`, () => {
    it('session not present: resent as new — no DUP, no PUBREL, fresh packet ids, in order — and all settle', async () => {
      const { client, results, before, conn2 } = await inFlightAtCut(v);
      try {
        await conn2.handshake({ sessionPresent: false });
        const again = [await conn2.next('publish'), await conn2.next('publish'), await conn2.next('publish')];
        expect(again.map((p) => ({ topic: p.topic, qos: p.qos, dup: p.dup }))).toEqual([
          { topic: 'r/a', qos: 1, dup: false },
          { topic: 'r/b', qos: 2, dup: false },
          { topic: 'r/c', qos: 1, dup: false },
        ]);
        expect(again.map((p) => p.payload.toString())).toEqual(['a', 'b', 'c']);
        const ids = again.map((p) => p.packetId);
        expect(new Set(ids).size).toBe(3);
        for (const id of ids) expect(before.map((p) => p.packetId)).not.toContain(id);
        conn2.autoRespond();
        const settled = await settlesWithin(results, 5000, 'the three publishes');
        expect(settled.map((r) => r.packetId)).toEqual(ids);
        // Nothing but the three new PUBLISHes and b's new PUBREL (answering our new PUBREC) on the new link.
        expect(flow(conn2.received)).toEqual([
          ...again.map((p) => ({ type: 'publish', topic: p.topic, qos: p.qos, dup: false, packetId: p.packetId })),
          { type: 'pubrel', packetId: ids[1] },
        ]);
      } finally {
        await client.disconnect();
      }
    });

    it('session present (contrast): a and c resent with DUP and their ids, PUBREL for b, in order', async () => {
      const { client, results, before, conn2 } = await inFlightAtCut(v);
      try {
        await conn2.handshake({ sessionPresent: true });
        conn2.autoRespond();
        const settled = await settlesWithin(results, 5000, 'the three publishes');
        const [a, b, c] = before.map((p) => p.packetId) as [number, number, number];
        expect(settled.map((r) => r.packetId)).toEqual([a, b, c]);
        expect(flow(conn2.received)).toEqual([
          { type: 'publish', topic: 'r/a', qos: 1, dup: true, packetId: a },
          { type: 'pubrel', packetId: b },
          { type: 'publish', topic: 'r/c', qos: 1, dup: true, packetId: c },
        ]);
      } finally {
        await client.disconnect();
      }
    });
  });
}
