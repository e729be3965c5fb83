/**
 * A stalled process is not a dead link. When the event loop is blocked for longer than 1.5 keepalive periods (a
 * long GC, CPU starvation on a busy machine), the keepalive timer wakes late: that time passed for us, not for the
 * link. The driver sends a PINGREQ and gives the broker half a period to answer instead of cutting the link at once
 * with 0x8D (it did: the slow-consumer test lost its connection whenever the machine was loaded).
 */
import { describe, expect, it } from '@jest/globals';
import { useFakeBroker } from '../support/fake-broker.js';
import { connectClient, VERSIONS } from './harness.js';

const broker = useFakeBroker();

/** Blocks the event loop: nothing else in this process runs meanwhile. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy wait on purpose
  }
}

for (const v of VERSIONS) {
  describe(`v${v}: keepalive across a stalled event loop`, () => {
    it('a 2.5 s stall with keepalive 1 s: a PINGREQ right after, answered, and the link stays up', async () => {
      const w = await connectClient(broker, v, { keepalive: 1 });
      w.conn.autoRespond(); // answers PINGREQ
      await w.conn.next('pingreq', 5000); // keepalive running
      stall(2500);
      const before = w.conn.received.filter((p) => p.type === 'pingreq').length;
      // Two more answered PINGREQs on the same connection: the link outlived the stall by a full period.
      await w.conn.next('pingreq', 5000);
      await w.conn.next('pingreq', 5000);
      expect(w.conn.received.filter((p) => p.type === 'pingreq').length).toBeGreaterThanOrEqual(before + 2);
      expect(w.disconnects).toEqual([]);
      expect(w.errors).toEqual([]);
      expect(w.conn.isClosed).toBe(false);
      expect(w.client.status).toBe('connected');
      await w.client.disconnect();
    });
  });
}
