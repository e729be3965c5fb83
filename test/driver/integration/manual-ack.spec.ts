import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClient } from '../../../lib/driver/index.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { nextEvent, take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

const session = { cleanStart: false, sessionExpiryInterval: 120 } as const;

describeMosquitto('manual acknowledgement on mosquitto (persistent sessions)', () => {
  let broker: MosquittoHandle;
  let pub: MqttClient;
  beforeAll(async () => {
    broker = await startMosquitto();
    pub = await connect(broker.url, { clientId: 'ack-pub' });
  });
  afterAll(async () => {
    await pub?.disconnect();
    await broker?.stop();
  });

  for (const qos of [1, 2] as const) {
    it(`QoS ${qos}: a message held unacked across a cut is not delivered twice; its ack() still counts`, async () => {
      const proxy = await startFaultProxy(broker.port);
      const id = `ack-cut-${qos}`;
      const c = await connect(proxy.url, { clientId: id, ...session, reconnect: { initialDelay: 50 } });
      try {
        const sub = await c.subscribe(`ack/cut/${qos}`, { qos, ack: 'manual' });
        for (const p of ['m1', 'm2', 'm3']) await pub.publish(`ack/cut/${qos}`, p, { qos });
        const [m1, m2, m3] = await take(sub, 3);
        expect([m1, m2, m3].map((m) => m?.dup)).toEqual([false, false, false]);
        await m1?.ack();
        await m1?.ack(); // idempotent
        // A round trip on the same link: once its PUBACK is back, mosquitto has read our PUBACK for m1 too.
        await c.publish('ack/cut/sync', 'sync', { qos: 1 });
        const back = nextEvent(c, 'connect');
        proxy.cutAll();
        const [{ sessionPresent }] = await back;
        expect(sessionPresent).toBe(true);
        // mosquitto resends m2 and m3 (DUP); the application already holds them, so they are not delivered again.
        await pub.publish(`ack/cut/${qos}`, 'm4', { qos });
        const [m4] = await take(sub, 1);
        expect(m4?.payload.toString()).toBe('m4');
        for (const m of [m2, m3, m4]) await m?.ack(); // acks of messages received before the cut go out now
        await c.publish('ack/cut/sync', 'sync', { qos: 1 });
        await c.disconnect({ sessionExpiryInterval: 120 });
        // A fresh client of the same session: anything not acknowledged would be redelivered to it.
        const fresh = await connect(broker.url, { clientId: id, ...session });
        try {
          const again = await fresh.subscribe(`ack/cut/${qos}`, { qos, ack: 'manual' });
          await pub.publish(`ack/cut/${qos}`, 'm5', { qos });
          const [next] = await take(again, 1);
          expect(next?.payload.toString()).toBe('m5');
          await next?.ack();
        } finally {
          await fresh.disconnect({ sessionExpiryInterval: 0 });
        }
      } finally {
        await c.disconnect();
        await proxy.stop();
      }
    });

    it(`QoS ${qos}: unacked messages come back (DUP) to the next client of the session`, async () => {
      const id = `ack-next-${qos}`;
      const first = await connect(broker.url, { clientId: id, ...session });
      const sub1 = await first.subscribe(`ack/next/${qos}`, { qos, ack: 'manual' });
      for (const p of ['n1', 'n2']) await pub.publish(`ack/next/${qos}`, p, { qos });
      const [n1] = await take(sub1, 2);
      await n1?.ack();
      await first.publish('ack/cut/sync', 'sync', { qos: 1 });
      await first.disconnect();
      const second = await connect(broker.url, { clientId: id, ...session });
      try {
        const sub2 = await second.subscribe(`ack/next/${qos}`, { qos, ack: 'manual' });
        const [n2] = await take(sub2, 1);
        expect(n2?.payload.toString()).toBe('n2');
        expect(n2?.dup).toBe(true);
        await n2?.ack();
      } finally {
        await second.disconnect({ sessionExpiryInterval: 0 });
      }
    });
  }

  it('a message not acked before disconnect is redelivered to the next client of the session, then not again', async () => {
    const id = 'ack-session';
    const first = await connect(broker.url, { clientId: id, ...session });
    const sub1 = await first.subscribe('ack/sess', { qos: 1, ack: 'manual' });
    await pub.publish('ack/sess', 'unacked', { qos: 1 });
    const [m] = await take(sub1, 1);
    expect(m?.payload.toString()).toBe('unacked');
    await first.disconnect(); // no ack sent

    // The resumed session delivers before we subscribe again: the driver holds it until the Subscription exists.
    const second = await connect(broker.url, { clientId: id, ...session });
    const sub2 = await second.subscribe('ack/sess', { qos: 1, ack: 'manual' });
    const [redelivered] = await take(sub2, 1);
    expect(redelivered?.payload.toString()).toBe('unacked');
    expect(redelivered?.dup).toBe(true);
    await redelivered?.ack();
    // A marker proves the PUBACK went out before we leave (acks leave in order).
    await pub.publish('ack/sess', 'marker', { qos: 1 });
    const [marker] = await take(sub2, 1);
    await marker?.ack();
    await second.disconnect();

    const third = await connect(broker.url, { clientId: id, cleanStart: false, sessionExpiryInterval: 0 });
    const sub3 = await third.subscribe('ack/sess', { qos: 1, ack: 'manual' });
    // A redelivery comes with the resumed session, before anything published after the SUBSCRIBE: a sentinel.
    await pub.publish('ack/sess', 'sentinel', { qos: 1 });
    const [first3] = await take(sub3, 1);
    expect(first3?.payload.toString()).toBe('sentinel');
    await first3?.ack();
    await third.disconnect();
  });

  it('auto ack: a message read before the link drops is not redelivered', async () => {
    const proxy = await startFaultProxy(broker.port);
    const c = await connect(proxy.url, { clientId: 'ack-auto', ...session, reconnect: { initialDelay: 50 } });
    try {
      const sub = await c.subscribe('ack/auto', { qos: 1 });
      await pub.publish('ack/auto', 'a1', { qos: 1 });
      await take(sub, 1);
      // Round trip on the same link: the PUBACK for a1 was written before this PUBLISH reached us.
      await pub.publish('ack/auto', 'a2', { qos: 1 });
      await take(sub, 1);
      const back = nextEvent(c, 'connect');
      proxy.cutAll();
      await back;
      await pub.publish('ack/auto', 'a3', { qos: 1 });
      // Redeliveries come with the resumed session, before a3 and the sentinel published after it.
      await pub.publish('ack/auto', 'sentinel', { qos: 1 });
      const seen: string[] = [];
      for (let m = await take(sub, 1); m[0]?.payload.toString() !== 'sentinel'; m = await take(sub, 1)) {
        seen.push(m[0]?.payload.toString() ?? '');
      }
      // a2 may come back (its PUBACK can be lost in the cut); a1 must not.
      expect(seen).not.toContain('a1');
      expect(seen).toContain('a3');
    } finally {
      await c.disconnect();
      await proxy.stop();
    }
  });
});
