import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClient } from '../../../lib/driver/index.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { nextEvent, nextWithin, take } from '../../support/messages.js';
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
    it(`QoS ${qos}: messages not acked are redelivered (DUP) after the link drops; acked ones are not`, async () => {
      const proxy = await startFaultProxy(broker.port);
      const c = await connect(proxy.url, { clientId: `ack-cut-${qos}`, ...session, reconnect: { initialDelay: 50 } });
      try {
        const sub = await c.subscribe(`ack/cut/${qos}`, { qos, ack: 'manual' });
        for (const p of ['m1', 'm2', 'm3']) await pub.publish(`ack/cut/${qos}`, p, { qos });
        const [m1, m2, m3] = await take(sub, 3);
        expect([m1, m2, m3].map((m) => m?.dup)).toEqual([false, false, false]);
        await m1?.ack();
        await m1?.ack(); // idempotent
        await m3?.ack(); // waits behind m2: acknowledgements leave in order
        // A round trip on the same link: once its PUBACK is back, mosquitto has read our PUBACK for m1 too.
        await c.publish('ack/cut/sync', 'sync', { qos: 1 });
        const back = nextEvent(c, 'connect');
        proxy.cutAll();
        const [{ sessionPresent }] = await back;
        expect(sessionPresent).toBe(true);
        const again = await take(sub, 2);
        expect(again.map((m) => m.payload.toString())).toEqual(['m2', 'm3']);
        expect(again.map((m) => m.dup)).toEqual([true, true]);
        for (const m of again) await m.ack();
        await pub.publish(`ack/cut/${qos}`, 'm4', { qos });
        const [next] = await take(sub, 1);
        expect(next?.payload.toString()).toBe('m4'); // m1 never came back
        await next?.ack();
        // The acks of the redelivered m2/m3 and of m4 reached the broker: another cut redelivers nothing.
        await c.publish('ack/cut/sync', 'sync', { qos: 1 });
        const back2 = nextEvent(c, 'connect');
        proxy.cutAll();
        await back2;
        await pub.publish(`ack/cut/${qos}`, 'm5', { qos });
        const [last] = await take(sub, 1);
        expect(last?.payload.toString()).toBe('m5');
        await last?.ack();
      } finally {
        await c.disconnect();
        await proxy.stop();
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
    expect(await nextWithin(sub3, 400)).toBeUndefined();
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
      const rest = await take(sub, 1);
      const more = await nextWithin(sub, 300);
      const seen = [...rest, ...(more ? [more] : [])].map((m) => m.payload.toString());
      // a2 may come back (its PUBACK can be lost in the cut); a1 must not.
      expect(seen).not.toContain('a1');
      expect(seen).toContain('a3');
    } finally {
      await c.disconnect();
      await proxy.stop();
    }
  });
});
