/**
 * What the server announces in CONNACK is honoured (scripted fake broker, so every packet on the wire is seen):
 * keepalive (end to end; Server Keep Alive on a fake clock in test/driver/unit), Maximum QoS, Retain Available and
 * Topic Alias Maximum. Local rejects happen before any I/O.
 */
import { describe, expect, it } from '@jest/globals';
import { connect, MqttProtocolError, MqttPublishError } from '../../../lib/driver/index.js';
import { connectClient } from '../../hostile/harness.js';
import { type FakeConnection, useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin } from '../../support/messages.js';

const broker = useFakeBroker();

/** Answers `count` PINGREQs; returns the arrival time of each and the time of the last PINGRESP. */
async function answerPings(conn: FakeConnection, count: number): Promise<{ arrivals: number[]; lastAnswer: number }> {
  const arrivals: number[] = [];
  let lastAnswer = 0;
  for (let i = 0; i < count; i++) {
    await conn.next('pingreq', 3000);
    arrivals.push(Date.now());
    conn.send({ type: 'pingresp' });
    lastAnswer = Date.now();
  }
  return { arrivals, lastAnswer };
}

/**
 * Sends a QoS 0 PUBLISH 60 ms after `after` (a PINGRESP: off the client's timer ticks, as a broker's traffic
 * is) and returns when it was sent: from then on the broker sends nothing.
 */
async function lastPublishThenSilence(conn: FakeConnection, after: number): Promise<number> {
  await new Promise((r) => setTimeout(r, Math.max(0, after + 60 - Date.now())));
  conn.send({ type: 'publish', topic: 'ka/last', qos: 0, retain: false, dup: false, payload: Buffer.from('x') });
  return Date.now();
}

/** How late a timer may fire on a busy 2-core test machine; far below the 250 ms a keepalive tick used to add. */
const TIMER_SLACK = 120;

// Server Keep Alive (1 s wins over our 60 s; 0 turns keepalive off) and the exact 1.5-period deadline are tested on a
// fake clock in test/driver/unit/connection.spec.ts and keepalive.spec.ts; this is the end-to-end case on a socket.
describe('v4: keepalive', () => {
  it('a silent broker is a dead link within 1.5 × our keepalive (no DISCONNECT on 3.1.1)', async () => {
    const w = await connectClient(broker, 4, { keepalive: 1 });
    const { lastAnswer } = await answerPings(w.conn, 2);
    const lastPacket = await lastPublishThenSilence(w.conn, lastAnswer);
    await w.conn.next('pingreq', 3000);
    await settlesWithin(w.conn.closed, 5000, 'the client closing the dead link');
    const detectedAfter = Date.now() - lastPacket;
    expect(detectedAfter).toBeGreaterThanOrEqual(1500 - 20);
    expect(detectedAfter).toBeLessThanOrEqual(1500 + TIMER_SLACK);
    expect(w.conn.received.filter((p) => p.type === 'disconnect')).toEqual([]);
    expect(w.errors.map((e) => (e as MqttProtocolError).reasonCode)).toEqual([0x8d]);
  });
});

/** Publishes a QoS 0 control message and waits until the broker has it: everything sent before it has arrived. */
async function sentSoFar(w: Awaited<ReturnType<typeof connectClient>>): Promise<string[]> {
  await w.client.publish('limits/control', 'control');
  while ((await w.conn.next('publish')).topic !== 'limits/control');
  return w.conn.received.flatMap((p) => (p.type === 'publish' ? [p.topic] : []));
}

async function rejection(p: Promise<unknown>): Promise<MqttPublishError> {
  const error = await settlesWithin(
    p.then(
      () => new Error('publish resolved'),
      (e: unknown) => e,
    ),
    5000,
    'the publish',
  );
  expect(error).toBeInstanceOf(MqttPublishError);
  return error as MqttPublishError;
}

describe('v5: Maximum QoS and Retain Available are enforced locally, nothing sent', () => {
  it('Maximum QoS 1: a QoS 2 publish rejects with 0x9B (never downgraded); QoS 1 still works', async () => {
    const w = await connectClient(broker, 5, {}, { properties: { maximumQoS: 1 } });
    w.conn.autoRespond();
    const error = await rejection(w.client.publish('limits/q2', 'x', { qos: 2 }));
    expect(error.reasonCode).toBe(0x9b);
    expect(error.message).toMatch(/lower qos/);
    await expect(w.client.publish('limits/q1', 'x', { qos: 1 })).resolves.toMatchObject({ reasonCode: 0 });
    expect(await sentSoFar(w)).toEqual(['limits/q1', 'limits/control']);
    await w.client.disconnect();
  });

  it('Maximum QoS 0: QoS 1 and QoS 2 publishes reject with 0x9B', async () => {
    const w = await connectClient(broker, 5, {}, { properties: { maximumQoS: 0 } });
    for (const qos of [1, 2] as const) {
      expect((await rejection(w.client.publish(`limits/q${qos}`, 'x', { qos }))).reasonCode).toBe(0x9b);
    }
    expect(await sentSoFar(w)).toEqual(['limits/control']);
    await w.client.disconnect();
  });

  it('Retain Available false: a retained publish rejects with 0x9A at any QoS; a plain one is sent', async () => {
    const w = await connectClient(broker, 5, {}, { properties: { retainAvailable: false } });
    w.conn.autoRespond();
    for (const qos of [0, 1, 2] as const) {
      const error = await rejection(w.client.publish(`limits/r${qos}`, 'x', { qos, retain: true }));
      expect(error.reasonCode).toBe(0x9a);
      expect(error.message).toMatch(/retain: false/);
    }
    await w.client.publish('limits/plain', 'x', { qos: 1 });
    expect(await sentSoFar(w)).toEqual(['limits/plain', 'limits/control']);
    await w.client.disconnect();
  });
});

describe("v5: the server's Topic Alias Maximum bounds properties.topicAlias", () => {
  it('no Topic Alias Maximum in CONNACK (0: none allowed): any alias rejects with 0x94, nothing sent', async () => {
    const w = await connectClient(broker, 5);
    for (const qos of [0, 1] as const) {
      const error = await rejection(w.client.publish('limits/a', 'x', { qos, properties: { topicAlias: 1 } }));
      expect(error.reasonCode).toBe(0x94);
      expect(error.message).toMatch(/remove properties\.topicAlias/);
    }
    expect(await sentSoFar(w)).toEqual(['limits/control']);
    await w.client.disconnect();
  });

  it('Topic Alias Maximum 2: aliases 0 and 3 reject with 0x94; 1 and 2 are sent with the alias', async () => {
    const w = await connectClient(broker, 5, {}, { properties: { topicAliasMaximum: 2 } });
    w.conn.autoRespond();
    for (const topicAlias of [0, 3, 65535]) {
      const error = await rejection(w.client.publish('limits/bad', 'x', { qos: 1, properties: { topicAlias } }));
      expect(error.reasonCode).toBe(0x94);
      expect(error.message).toMatch(/from 1 to 2/);
    }
    await w.client.publish('limits/one', 'x', { qos: 1, properties: { topicAlias: 1 } });
    await w.client.publish('limits/two', 'x', { properties: { topicAlias: 2 } });
    expect(await sentSoFar(w)).toEqual(['limits/one', 'limits/two', 'limits/control']);
    const aliases = w.conn.received.flatMap((p) => (p.type === 'publish' ? [p.properties?.topicAlias] : []));
    expect(aliases).toEqual([1, 2, undefined]);
    await w.client.disconnect();
  });
});

describe('v5: publishes that waited across a reconnect meet the new CONNACK', () => {
  it("a queued publish the new server's limits forbid is rejected, not sent; the others go out", async () => {
    const pending = connect(broker.url, { keepalive: 0, reconnect: { initialDelay: 10, maxDelay: 20 } });
    const conn = await broker.nextConnection();
    await conn.handshake();
    const client = await pending;
    try {
      const offline = new Promise<void>((resolve) =>
        client.on('status', (status) => {
          if (status === 'reconnecting') resolve();
        }),
      );
      conn.close();
      await settlesWithin(offline, 2_000, 'the reconnect');
      // Accepted locally under the first CONNACK's limits (retain available, QoS 2 allowed), queued offline.
      const retained = client.publish('q/retained', 'r', { qos: 1, retain: true }).catch((e: unknown) => e);
      const qos2 = client.publish('q/qos2', 'q', { qos: 2 }).catch((e: unknown) => e);
      const plain = client.publish('q/plain', 'p', { qos: 1 });
      const conn2 = await broker.nextConnection();
      await conn2.handshake({ properties: { retainAvailable: false, maximumQoS: 1 } });
      conn2.autoRespond();
      await expect(settlesWithin(plain, 2_000, 'the plain publish')).resolves.toMatchObject({ reasonCode: 0 });
      const [r, q] = await Promise.all([retained, qos2]);
      expect(r).toBeInstanceOf(MqttPublishError);
      expect((r as MqttPublishError).reasonCode).toBe(0x9a);
      expect(q).toBeInstanceOf(MqttPublishError);
      expect((q as MqttPublishError).reasonCode).toBe(0x9b);
      const sent = conn2.received.filter((p) => p.type === 'publish').map((p) => (p as { topic: string }).topic);
      expect(sent).toEqual(['q/plain']);
      expect(client.status).toBe('connected');
    } finally {
      await client.disconnect();
    }
  });
});
