import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClientOptions } from '../../../lib/driver/index.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { nextEvent, settlesWithin } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

/** Random distinct points in (0, n), ascending. */
function randomPoints(n: number, count: number): number[] {
  const points = new Set<number>();
  while (points.size < count) points.add(1 + Math.floor(Math.random() * (n - 2)));
  return [...points].sort((a, b) => a - b);
}

const persistent = (clientId: string): MqttClientOptions => ({
  clientId,
  cleanStart: false,
  sessionExpiryInterval: 300,
  keepalive: 5,
  connectTimeout: 2000,
  reconnect: { initialDelay: 10, maxDelay: 100 },
});

describeMosquitto('faults: a proxy cutting connections at random points mid-stream', () => {
  let broker: MosquittoHandle;
  let proxy: FaultProxy;
  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await startFaultProxy(broker.port);
  });
  afterAll(async () => {
    await proxy?.stop();
    await broker?.stop();
  });

  const cases = [
    { qos: 1, slow: false },
    { qos: 2, slow: false },
    { qos: 2, slow: true },
  ] as const;
  for (const { qos, slow } of cases) {
    const what = `${qos === 2 ? 'zero loss and zero duplicates' : 'zero loss'}${slow ? ' (slow consumer)' : ''}`;
    it(`QoS ${qos}: ${what} at the application across random cuts`, async () => {
      const n = qos === 1 ? 3000 : 2000;
      const topic = `faults/proxy/q${qos}${slow ? 's' : ''}`;
      const counts = new Map<number, number>();
      const sub = await connect(proxy.url, persistent(`fp-sub-${qos}${slow}`));
      const pub = await connect(proxy.url, persistent(`fp-pub-${qos}${slow}`));
      let reconnects = 0;
      sub.on('connect', () => reconnects++);
      pub.on('connect', () => reconnects++);
      const cutsBefore = proxy.cuts;
      try {
        const subscription = await sub.subscribe(topic, { qos, bufferSize: 100 });
        // Cuts land at random points of both streams: while receiving and while publishing.
        const receiveCuts = randomPoints(n, 4);
        const publishCuts = randomPoints(n, 4);
        const reader = (async () => {
          for await (const m of subscription) {
            // A slow consumer leaves messages unread in the Subscription while the link is cut under it.
            if (slow && Math.random() < 0.05) await new Promise((r) => setTimeout(r, 5));
            const id = Number(m.payload.toString());
            counts.set(id, (counts.get(id) ?? 0) + 1);
            if (counts.size === receiveCuts[0]) {
              receiveCuts.shift();
              proxy.cutRandom();
            }
            if (counts.size === n) return;
          }
        })();
        proxy.cutRandomlyEvery(20, 150);
        let resolved = 0;
        const publishes = Array.from({ length: n }, (_, i) =>
          pub.publish(topic, String(i), { qos }).then((r) => {
            resolved++;
            if (resolved === publishCuts[0]) {
              publishCuts.shift();
              proxy.cutAll();
            }
            return r;
          }),
        );
        const results = await settlesWithin(Promise.allSettled(publishes), 15_000, 'publishes across cuts');
        const rejected = results.filter((r) => r.status === 'rejected');
        expect(rejected.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        await settlesWithin(reader, 15_000, `delivery of all ${n} (have ${counts.size})`);
        proxy.stopCutting();

        const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i));
        expect(missing).toEqual([]);
        if (qos === 2) {
          const duplicated = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
          expect(duplicated).toEqual([]);
        }
        expect(proxy.cuts - cutsBefore).toBeGreaterThanOrEqual(8);
        expect(reconnects).toBeGreaterThanOrEqual(4);
      } finally {
        proxy.stopCutting();
        await sub.disconnect({ sessionExpiryInterval: 0 });
        await pub.disconnect({ sessionExpiryInterval: 0 });
      }
    }, 40_000);
  }

  it('dead link: a blackholed connection is detected by keepalive while we keep sending, then resumes', async () => {
    const c = await connect(proxy.url, { ...persistent('fp-dead'), keepalive: 1, connectTimeout: 1000 });
    const peer = await connect(broker.url);
    try {
      const sub = await peer.subscribe('faults/dead', { qos: 1 });
      await c.publish('faults/dead', 'before', { qos: 1 });
      const lost = nextEvent(c, 'disconnect');
      proxy.pause();
      let sending = true;
      const sender = (async () => {
        while (sending) {
          await c.publish('faults/dead/noise', 'x').catch(() => undefined);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await settlesWithin(lost, 8000, 'dead link detection');
      expect(c.status).not.toBe('connected');
      const pending = c.publish('faults/dead', 'during', { qos: 1 });
      const back = nextEvent(c, 'connect');
      proxy.resume();
      await settlesWithin(back, 8000, 'reconnect after the link came back');
      await settlesWithin(pending, 8000, 'QoS 1 publish queued while the link was dead');
      sending = false;
      await sender;
      const got: string[] = [];
      for await (const m of sub) {
        got.push(m.payload.toString());
        if (got.includes('during')) break;
      }
      expect(got).toContain('before');
      expect(got).toContain('during');
    } finally {
      proxy.resume();
      await c.disconnect({ sessionExpiryInterval: 0 });
      await peer.disconnect();
    }
  });

  it('messages the broker sent into a blackholed link are redelivered after the cut (session resumed)', async () => {
    const c = await connect(proxy.url, persistent('fp-resume'));
    const peer = await connect(broker.url);
    try {
      const sub = await c.subscribe('faults/resume', { qos: 1 });
      const lost = nextEvent(c, 'disconnect');
      proxy.pause(); // blackhole, so the broker queues for the session while we are away
      for (let i = 0; i < 50; i++) await peer.publish('faults/resume', String(i), { qos: 1 });
      proxy.resume(); // cuts the blackholed link; the client reconnects with session present
      await lost;
      const got = new Set<string>();
      for await (const m of sub) {
        got.add(m.payload.toString());
        if (got.size === 50) break;
      }
      expect(got.size).toBe(50);
    } finally {
      await c.disconnect({ sessionExpiryInterval: 0 });
      await peer.disconnect();
    }
  });
});
