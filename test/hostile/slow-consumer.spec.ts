/**
 * A slow consumer never causes a keepalive timeout. Keepalive is 1 s; a Subscription's buffer is full and not read
 * for more than 3 keepalive periods while the broker floods it (QoS 0 beyond the buffer, QoS 1 up to our Receive
 * Maximum, unacknowledged), then sends nothing but PINGRESPs for more than 1.5 periods. The driver keeps reading
 * the socket whatever the application does (backpressure acts on acknowledgements, not on reading), so the link
 * stays up, PINGREQs keep going out and memory stays bounded.
 */
import { describe, expect, it } from '@jest/globals';
import { encodePacket } from '../../lib/driver/codec/index.js';
import type { PublishPacket } from '../../lib/driver/codec/packets.js';
import { type ClientStatus, MqttMessageDroppedError } from '../../lib/driver/index.js';
import { eventually } from '../support/eventually.js';
import { useFakeBroker } from '../support/fake-broker.js';
import { take } from '../support/messages.js';
import { connectClient, heapAfterGc, VERSIONS } from './harness.js';

const broker = useFakeBroker();

const publish = (i: number, qos: 0 | 1, size: number): PublishPacket => ({
  type: 'publish',
  topic: 'slow/x',
  qos,
  retain: false,
  dup: false,
  payload: Buffer.alloc(size, i % 251),
  ...(qos > 0 ? { packetId: i } : {}),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const v of VERSIONS) {
  describe(`v${v}: slow consumer, keepalive 1 s`, () => {
    it('a full, unread Subscription under a flood for 3.5 keepalive periods, then 1.8 quiet ones: no disconnect, no 0x8D, heap bounded', async () => {
      const receiveMaximum = 10;
      const bufferSize = 10;
      const w = await connectClient(broker, v, { keepalive: 1, receiveMaximum });
      w.conn.autoRespond(); // answers PINGREQ
      const statuses: ClientStatus[] = [];
      w.client.on('status', (s) => statuses.push(s));
      let dropped = 0;
      w.client.on('error', (e) => {
        if (e instanceof MqttMessageDroppedError) dropped++;
      });
      const sub = await w.client.subscribe('slow/#', { qos: 1, bufferSize });
      const heapBefore = await heapAfterGc();

      // The broker honours our Receive Maximum for QoS 1 (nothing is acknowledged: nobody reads) ...
      for (let i = 1; i <= receiveMaximum; i++) w.conn.send(publish(i, 1, 512));
      // ... and floods QoS 0: 100 × 512 B every 20 ms (~2.5 MB/s) while its socket buffer is not backed up.
      let sent = 0;
      const flood = setInterval(() => {
        if (w.conn.isClosed || w.conn.socket.writableLength > 1 << 20) return;
        const batch: Buffer[] = [];
        for (let i = 0; i < 100; i++) batch.push(encodePacket(publish(sent++, 0, 512), v));
        w.conn.sendRaw(Buffer.concat(batch));
      }, 20);
      // At least 3.5 keepalive periods, and until more than 10,000 were sent: on a loaded machine the timer fires
      // less often, so the volume is waited for, not assumed from the duration.
      const floodStart = Date.now();
      await eventually(
        () => Date.now() - floodStart >= 3500 && sent > 10_000,
        () => `a flood of more than 10,000 QoS 0 messages (${sent} sent)`,
        20_000,
      );
      clearInterval(flood);
      const pingsDuringFlood = w.conn.received.filter((p) => p.type === 'pingreq').length;
      // Quiet: only PINGRESPs reach the client for 1.8 keepalive periods (a timeout would come at 1.5).
      await sleep(1800);

      expect(statuses).toEqual([]);
      expect(w.client.status).toBe('connected');
      expect(w.disconnects).toEqual([]);
      expect(w.conn.isClosed).toBe(false);
      expect(w.errors.filter((e) => !(e instanceof MqttMessageDroppedError))).toEqual([]);
      expect(w.conn.received.filter((p) => p.type === 'disconnect')).toEqual([]);
      // Keepalive stayed active the whole time: a PINGREQ every half period at least.
      expect(pingsDuringFlood).toBeGreaterThanOrEqual(5);
      expect(w.conn.received.filter((p) => p.type === 'pingreq').length).toBeGreaterThanOrEqual(pingsDuringFlood + 3);
      // Every QoS 0 beyond the full buffer was dropped and counted; no QoS 1 was acknowledged unread.
      expect(dropped).toBe(sent);
      expect(w.conn.received.filter((p) => p.type === 'puback')).toEqual([]);
      w.errors.length = 0; // the test's own record of the drops is not the driver's memory
      const after = await heapAfterGc();
      // Keeping the flood would hold > 5 MB of payload.
      expect(after.heapUsed - heapBefore.heapUsed).toBeLessThan(4 * 1024 * 1024);
      expect(after.arrayBuffers - heapBefore.arrayBuffers).toBeLessThan(4 * 1024 * 1024);

      // The application finally reads: the held QoS 1 messages, in order, then they are acknowledged.
      const got = await take(sub, receiveMaximum, 5000);
      expect(got.map((m) => m.qos)).toEqual(Array(receiveMaximum).fill(1));
      for (let i = 1; i <= receiveMaximum; i++) expect((await w.conn.next('puback')).packetId).toBe(i);
      expect(w.client.status).toBe('connected');
      await w.client.disconnect();
    }, 45_000);
  });
}
