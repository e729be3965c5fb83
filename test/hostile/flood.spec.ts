/**
 * Hostile broker: a flood of PUBLISH while the application does not read (or reads slowly). Backpressure
 * policy (lib/driver/subscription.ts, docs/hardening.md): a Subscription buffers `bufferSize` unread
 * messages; QoS 0 beyond it is dropped and counted; QoS 1/2 stay queued but unacknowledged, so our Receive
 * Maximum stops a well-behaved broker and a broker that ignores it is disconnected (0x93).
 */
import { describe, expect, it } from '@jest/globals';
import { encodePacket } from '../../lib/driver/codec/index.js';
import type { PublishPacket } from '../../lib/driver/codec/packets.js';
import { MqttMessageDroppedError } from '../../lib/driver/index.js';
import { useFakeBroker } from '../support/fake-broker.js';
import { settlesWithin, take, until } from '../support/messages.js';
import { connectClient, heapAfterGc, VERSIONS } from './harness.js';

const broker = useFakeBroker();

const publish = (i: number, qos: 0 | 1 | 2, size: number): PublishPacket => ({
  type: 'publish',
  topic: 'flood/x',
  qos,
  retain: false,
  dup: false,
  payload: Buffer.alloc(size, i % 251),
  ...(qos > 0 ? { packetId: (i % 65535) + 1 } : {}),
});

/** The internal queue length and drop counter of a driver Subscription (not part of the public interface). */
interface Buffered {
  dropped: number;
  queue: unknown[];
}

for (const v of VERSIONS) {
  describe(`v${v}: PUBLISH flood while the application is slow`, () => {
    it('QoS 0: 50,000 messages at a subscription nobody reads — buffer stays at bufferSize, the rest dropped and counted, heap bounded', async () => {
      const w = await connectClient(broker, v);
      w.conn.autoRespond();
      const bufferSize = 100;
      const sub = await w.client.subscribe('flood/#', { bufferSize });
      const heapBefore = await heapAfterGc();
      const total = 50_000;
      const size = 256; // 12.8 MB of payload in all
      let sent = 0;
      while (sent < total) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 1000 && sent < total; i++, sent++) batch.push(encode(publish(sent, 0, size), v));
        if (!w.conn.sendRaw(Buffer.concat(batch))) await new Promise((r) => w.conn.socket.once('drain', r));
      }
      const buffered = sub as unknown as Buffered;
      await until(() => buffered.dropped + buffered.queue.length === total, 20_000, 'every flood message');
      expect(buffered.queue.length).toBe(bufferSize);
      expect(buffered.dropped).toBe(total - bufferSize);
      expect(w.errors.length).toBe(total - bufferSize);
      expect(w.errors.every((e) => e instanceof MqttMessageDroppedError)).toBe(true);
      w.errors.length = 0; // the test's own record of 49,900 errors is not the driver's memory
      const after = await heapAfterGc();
      // Keeping every message would hold > 12.8 MB of payload plus one object each.
      expect(after.heapUsed - heapBefore.heapUsed).toBeLessThan(4 * 1024 * 1024);
      expect(after.arrayBuffers - heapBefore.arrayBuffers).toBeLessThan(4 * 1024 * 1024);
      expect(w.client.status).toBe('connected');
      const first = await take(sub, bufferSize, 5000); // the oldest ones are kept, in order
      expect(first.map((m) => m.payload[0])).toEqual(Array.from({ length: bufferSize }, (_, i) => i % 251));
      await w.client.disconnect();
    });

    it('QoS 1: a broker that honours our Receive Maximum and a slow reader — nothing lost, at most Receive Maximum unacknowledged, never 0x93', async () => {
      const receiveMaximum = 20;
      const w = await connectClient(broker, v, { receiveMaximum });
      w.conn.autoRespond();
      const sub = await w.client.subscribe('flood/#', { qos: 1, bufferSize: 5 });
      const total = 3000;
      let sent = 0;
      let acked = 0;
      const pump = () => {
        while (sent < total && sent - acked < receiveMaximum) w.conn.send(publish(sent++, 1, 64));
      };
      w.conn.socket.on('data', () => {
        acked = w.conn.received.filter((p) => p.type === 'puback').length;
        pump();
      });
      pump();
      const buffered = sub as unknown as Buffered;
      let maxQueued = 0;
      const got: number[] = [];
      for await (const m of sub) {
        maxQueued = Math.max(maxQueued, buffered.queue.length);
        got.push(m.payload[0] as number);
        if (got.length % 50 === 0) await new Promise((r) => setTimeout(r, 1)); // a slow application
        if (got.length === total) break;
      }
      expect(got).toEqual(Array.from({ length: total }, (_, i) => i % 251));
      expect(maxQueued).toBeLessThanOrEqual(receiveMaximum);
      expect(w.errors).toEqual([]);
      await settlesWithin(
        until(() => acked === total, 5000, 'all PUBACKs'),
        6000,
        'all PUBACKs',
      );
    });
  });
}

function encode(p: PublishPacket, v: 4 | 5): Buffer {
  return encodePacket(p, v);
}
