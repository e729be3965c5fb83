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

/**
 * The messages (payload ids) the broker sent `clientId` again as a QoS 2 PUBLISH after it had sent their PUBREL.
 * mosquitto 2.0.11 does that when a link is cut while the client reconnects: the reconnect resends the PUBREL of
 * a message waiting for PUBCOMP, the write fails on the dead socket, the message stays "resend PUBREL", and the
 * next reconnect's reset turns every state but "waiting for PUBCOMP" into "publish" (db__message_reconnect_reset_
 * outgoing). That breaks MQTT 5 section 4.3.3 (no PUBLISH once its PUBREL was sent). The client had answered the
 * PUBREL with PUBCOMP, which frees the packet id: by the protocol the PUBLISH is a new message, so the application
 * gets the message twice and no client can tell. Seen in about 1 run in 20 of the slow-consumer case, with the
 * broker's log showing "Sending PUBREL (m405)", "Broken pipe", then "Sending PUBLISH (d1, q2, m405)".
 */
function watchPublishAfterRelease(proxy: FaultProxy, clientId: string): ReadonlySet<number> {
  const resent = new Set<number>();
  const published = new Map<number, number>(); // packet id → payload id of its last PUBLISH
  const released = new Map<number, number>(); // packet id → payload id whose PUBREL was sent
  proxy.watch((packet, from, id) => {
    if (from !== 'broker' || id !== clientId) return;
    if (packet.type === 'publish' && packet.qos === 2) {
      const message = Number(packet.payload.toString());
      if (released.get(packet.packetId as number) === message) resent.add(message);
      published.set(packet.packetId as number, message);
    } else if (packet.type === 'pubrel') {
      const message = published.get(packet.packetId);
      if (message !== undefined) released.set(packet.packetId, message);
    }
  });
  return resent;
}

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
      const subId = `fp-sub-${qos}${slow}`;
      const brokerResent = watchPublishAfterRelease(proxy, subId);
      const sub = await connect(proxy.url, persistent(subId));
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
        // Read with next(), not for-await: leaving a for-await loop unsubscribes, and an UNSUBSCRIBE that a cut
        // catches before its UNSUBACK rejects (unsubscribe()'s contract) — that failed this test now and then.
        const messages = subscription[Symbol.asyncIterator]();
        const reader = (async () => {
          while (counts.size < n) {
            const r = await messages.next();
            if (r.done) return;
            // A slow consumer leaves messages unread in the Subscription while the link is cut under it.
            if (slow && Math.random() < 0.05) await new Promise((resolve) => setTimeout(resolve, 5));
            const id = Number(r.value.payload.toString());
            counts.set(id, (counts.get(id) ?? 0) + 1);
            if (counts.size === receiveCuts[0]) {
              receiveCuts.shift();
              proxy.cutRandom();
            }
          }
        })();
        reader.catch(() => undefined); // awaited below, after the publishes: not an unhandled rejection meanwhile
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
          // Only a message the broker itself published again after releasing it may arrive twice (see
          // watchPublishAfterRelease); the driver adds no duplicate of its own.
          expect(duplicated.filter((id) => !brokerResent.has(id))).toEqual([]);
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
