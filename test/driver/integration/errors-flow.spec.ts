import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  connect,
  MqttConnectError,
  MqttDisconnectedError,
  MqttError,
  MqttInvalidTopicError,
  MqttSubscribeError,
} from '../../../lib/driver/index.js';
import { startAedes } from '../../support/aedes.js';
import { startFakeBroker } from '../../support/fake-broker.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { nextEvent, settlesWithin, take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { freePort } from '../../support/ports.js';

it('connect to a closed port rejects with MqttConnectError after exactly maxAttempts attempts', async () => {
  const port = await freePort(); // nothing listens here
  const error = await connect(`mqtt://127.0.0.1:${port}`, {
    reconnect: { maxAttempts: 3, initialDelay: 10, maxDelay: 20 },
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(MqttConnectError);
  expect((error as Error).message).toMatch(String(port));
});

it('connect counts its attempts: a listener that closes every connection sees maxAttempts of them', async () => {
  const net = await import('node:net');
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    s.destroy();
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  try {
    const error = await connect(`mqtt://127.0.0.1:${port}`, {
      reconnect: { maxAttempts: 4, initialDelay: 10, maxDelay: 20 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MqttConnectError);
    expect(accepted).toBe(4);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

it('reconnect: false makes exactly one attempt', async () => {
  const port = await freePort();
  await expect(connect(`mqtt://127.0.0.1:${port}`, { reconnect: false })).rejects.toBeInstanceOf(MqttConnectError);
});

it('a bad URL is an MqttConnectError, not a crash', async () => {
  await expect(connect('not a url')).rejects.toBeInstanceOf(MqttConnectError);
  await expect(connect('http://127.0.0.1:1')).rejects.toBeInstanceOf(MqttConnectError);
});

for (const version of [5, 4] as const) {
  it(`v${version}: a subscription the broker refuses rejects with MqttSubscribeError carrying the reason codes`, async () => {
    const aedes = await startAedes({ version });
    // aedes refuses a filter when authorizeSubscribe yields no subscription.
    (aedes.broker as unknown as { authorizeSubscribe: unknown }).authorizeSubscribe = (
      _client: unknown,
      sub: { topic: string },
      done: (err: Error | null, sub: unknown) => void,
    ) => done(null, sub.topic.startsWith('forbidden/') ? null : sub);
    const c = await connect(aedes.url, { protocolVersion: version });
    try {
      const error = await c.subscribe(['open/x', 'forbidden/x'], { qos: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MqttSubscribeError);
      expect((error as MqttSubscribeError).reasonCodes?.[0]).toBe(1);
      expect((error as MqttSubscribeError).reasonCodes?.[1]).toBeGreaterThanOrEqual(0x80);
      expect(c.status).toBe('connected');
    } finally {
      await c.disconnect();
      await aedes.stop();
    }
  });
}

describeMosquitto('errors and flow control on mosquitto', () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto({ extraConfig: ['max_packet_size 10000'] });
  });
  afterAll(() => broker?.stop());

  it('invalid topics throw MqttInvalidTopicError before any I/O', async () => {
    const c = await connect(broker.url);
    try {
      await expect(c.publish('a/+/b', 'x')).rejects.toBeInstanceOf(MqttInvalidTopicError);
      await expect(c.publish('', 'x')).rejects.toBeInstanceOf(MqttInvalidTopicError);
      await expect(c.subscribe('a/#/b')).rejects.toBeInstanceOf(MqttError);
      expect(c.status).toBe('connected');
    } finally {
      await c.disconnect();
    }
  });

  it("a publish over the server's Maximum Packet Size rejects locally and the link stays up", async () => {
    const c = await connect(broker.url);
    try {
      expect(c.serverProperties?.maximumPacketSize).toBe(10000);
      await expect(c.publish('big', Buffer.alloc(20_000), { qos: 1 })).rejects.toMatchObject({ reasonCode: 0x95 });
      const sub = await c.subscribe('big', { qos: 1 });
      await c.publish('big', 'small', { qos: 1 });
      const [m] = await take(sub, 1);
      expect(m?.payload.toString()).toBe('small');
    } finally {
      await c.disconnect();
    }
  });

  it('publishes pending when the broker disappears all settle (reject) once reconnecting gives up', async () => {
    const own = await startMosquitto();
    const c = await connect(own.url, { reconnect: { maxAttempts: 3, initialDelay: 20, maxDelay: 50 } });
    const blackhole = await c.subscribe('gone/#', { qos: 2 });
    void blackhole;
    const publishes = Array.from({ length: 100 }, (_, i) =>
      c.publish('gone/x', String(i), { qos: (1 + (i % 2)) as 1 | 2 }),
    );
    await own.stop();
    const results = await settlesWithin(Promise.allSettled(publishes), 15_000, 'pending publishes');
    const rejected = results.filter((r) => r.status === 'rejected');
    for (const r of rejected) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(MqttDisconnectedError);
    expect(results).toHaveLength(100);
    expect(c.status).toBe('closed');
    await expect(c.publish('gone/x', 'after', { qos: 1 })).rejects.toBeInstanceOf(MqttDisconnectedError);
  });

  it('publish during a dead reconnect loop settles: QoS 0 rejects at once, QoS 1 when the client gives up', async () => {
    const proxy = await startFaultProxy(broker.port);
    const c = await connect(proxy.url, { reconnect: { maxAttempts: 2, initialDelay: 50, maxDelay: 50 } });
    const lost = nextEvent(c, 'disconnect');
    await proxy.stop(); // cuts and stops listening: every reconnect fails
    await lost;
    await expect(c.publish('open/x', 'q0')).rejects.toBeInstanceOf(MqttDisconnectedError);
    const q1 = c.publish('open/x', 'q1', { qos: 1 });
    await expect(settlesWithin(q1, 10_000, 'QoS 1 publish')).rejects.toBeInstanceOf(MqttDisconnectedError);
    await c.disconnect();
  });

  it('a lost link is reported with an error on the disconnect event', async () => {
    const proxy = await startFaultProxy(broker.port);
    const c = await connect(proxy.url, { reconnect: false });
    try {
      const lost = nextEvent(c, 'disconnect');
      proxy.cutAll();
      const [event] = await settlesWithin(lost, 10_000, 'disconnect event');
      expect(event.error).toBeInstanceOf(MqttDisconnectedError);
      expect(event.reasonCode).toBeUndefined();
    } finally {
      await c.disconnect();
      await proxy.stop();
    }
  });

  for (const version of [5, 4] as const) {
    it(`v${version}: a QoS 2 burst of 1,000 against mosquitto's default Receive Maximum is all acknowledged`, async () => {
      const c = await connect(broker.url, { protocolVersion: version });
      const reader = await connect(broker.url, { protocolVersion: version });
      try {
        if (version === 5) expect(c.serverProperties?.receiveMaximum).toBe(20);
        const sub = await reader.subscribe('burst/q2', { qos: 2, bufferSize: 2000 });
        const results = await Promise.allSettled(
          Array.from({ length: 1000 }, (_, i) => c.publish('burst/q2', String(i), { qos: 2 })),
        );
        const failed = results.filter((r) => r.status === 'rejected');
        expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        for (const r of results) expect((r as PromiseFulfilledResult<{ reasonCode: number }>).value.reasonCode).toBe(0);
        const got = await take(sub, 1000);
        expect(got.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      } finally {
        await c.disconnect();
        await reader.disconnect();
      }
    });
  }

  it('v5: a resumed session drains its queue with a small receiveMaximum although mosquitto overshoots it', async () => {
    const options = { clientId: 'small-rm', cleanStart: false, sessionExpiryInterval: 60, receiveMaximum: 20 };
    const first = await connect(broker.url, options);
    await first.subscribe('rm/q', { qos: 1 });
    await first.disconnect();
    const filler = await connect(broker.url);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => filler.publish('rm/q', String(i), { qos: 1 })));
    await filler.disconnect();
    const c = await connect(broker.url, options);
    const drops: unknown[] = [];
    c.on('disconnect', (e) => drops.push(e));
    try {
      const sub = await c.subscribe('rm/q', { qos: 1, bufferSize: 100 });
      const got = await take(sub, 2000, 30_000);
      expect(got.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
      expect(drops).toEqual([]);
    } finally {
      await c.disconnect({ sessionExpiryInterval: 0 });
    }
  });

  it("a resumed session's 3,000 queued messages that arrive before the Subscription is re-made are all held and delivered", async () => {
    // A broker that sends a resumed session's whole queue at once (no in-flight limit on its side).
    const own = await startMosquitto({ extraConfig: ['max_inflight_messages 0'] });
    const broker = own;
    const options = { clientId: 'held-3000', cleanStart: false, sessionExpiryInterval: 60 };
    const first = await connect(broker.url, options);
    await first.subscribe('held/q', { qos: 1 });
    await first.disconnect();
    const filler = await connect(broker.url);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => filler.publish('held/q', String(i), { qos: 1 })));
    await filler.disconnect();
    const c = await connect(broker.url, options);
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    try {
      // A round trip on the same link: mosquitto writes the resumed queue right after CONNACK, so once this
      // PUBACK is back the queue has arrived, with nothing subscribed.
      await c.publish('held/marker', 'x', { qos: 1 });
      const sub = await c.subscribe('held/q', { qos: 1, bufferSize: 5000 });
      const got = await take(sub, 3000, 30_000);
      expect(new Set(got.map((m) => Number(m.payload.toString()))).size).toBe(3000);
      expect(errors.map((e) => e.message)).toEqual([]);
    } finally {
      await c.disconnect({ sessionExpiryInterval: 0 });
      await own.stop();
    }
  });

  it('QoS 1 burst of 2,000 is all acknowledged and arrives in order', async () => {
    const c = await connect(broker.url);
    try {
      const sub = await c.subscribe('burst/q1', { qos: 1, bufferSize: 3000 });
      const results = await Promise.all(
        Array.from({ length: 2000 }, (_, i) => c.publish('burst/q1', String(i), { qos: 1 })),
      );
      expect(results.every((r) => r.reasonCode === 0)).toBe(true);
      const got = await take(sub, 2000);
      expect(got.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    } finally {
      await c.disconnect();
    }
  });
});

it('v5: a publish with an invalid property value rejects at the call and takes no in-flight slot', async () => {
  // Receive Maximum 3 and no Maximum Packet Size: a bad publish that got a packet id before failing to encode
  // would hold an in-flight slot forever, and three of them would stall every later QoS 1 publish.
  const broker = await startFakeBroker(async (conn) => {
    await conn.handshake({ properties: { receiveMaximum: 3 } });
    conn.autoRespond();
  });
  const c = await connect(broker.url, { reconnect: false });
  try {
    const bad = Array.from({ length: 10 }, () =>
      c.publish('t', 'x', { qos: 1, properties: { payloadFormatIndicator: 7 as 0 } }).catch((e: unknown) => e),
    );
    for (const err of await Promise.all(bad)) {
      expect(err).toBeInstanceOf(MqttError);
      expect((err as MqttError).reasonCode).toBe(0x81);
    }
    await expect(
      settlesWithin(c.publish('t', 'ok', { qos: 1 }), 2_000, 'a valid publish after bad ones'),
    ).resolves.toMatchObject({ reasonCode: 0 });
    const conn = broker.connections[0]!;
    expect(conn.received.filter((p) => p.type === 'publish')).toHaveLength(1);
    expect(c.status).toBe('connected');
  } finally {
    await c.disconnect();
    await broker.stop();
  }
});
