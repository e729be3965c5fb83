/**
 * What the server announces in CONNACK is honoured (scripted fake broker, so every packet on the wire is seen):
 * Server Keep Alive, Maximum QoS, Retain Available and Topic Alias Maximum. Local rejects happen before any I/O.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { DisconnectPacket } from '../../../lib/driver/codec/packets.js';
import { MqttProtocolError } from '../../../lib/driver/index.js';
import { connectClient } from '../../hostile/harness.js';
import { type FakeBroker, type FakeConnection, startFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin } from '../../support/messages.js';

let broker: FakeBroker;
beforeEach(async () => {
  broker = await startFakeBroker();
});
afterEach(async () => {
  await broker.stop();
  expect(broker.scriptErrors).toEqual([]);
});

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

describe('v5: Server Keep Alive', () => {
  it("pings follow the server's 1 s, not our 60 s, and a broker that goes silent is a dead link (0x8D) within 1.5 s", async () => {
    const w = await connectClient(broker, 5, { keepalive: 60 }, { properties: { serverKeepAlive: 1 } });
    const connectPacket = w.conn.received.find((p) => p.type === 'connect');
    expect(connectPacket?.type === 'connect' && connectPacket.keepalive).toBe(60);
    const connackAt = Date.now();

    const { arrivals, lastAnswer } = await answerPings(w.conn, 4);
    // Our own 60 s would mean no PINGREQ for 30 s; the server's 1 s means one at least every second.
    const gaps = [arrivals[0] as number, ...arrivals].map((t, i, a) => (i === 0 ? t - connackAt : t - (a[i - 1] ?? 0)));
    expect(Math.max(...gaps.slice(1))).toBeLessThanOrEqual(1000 + TIMER_SLACK);
    expect(arrivals.at(-1)! - connackAt).toBeLessThan(4 * 1000);
    expect(w.client.status).toBe('connected');

    // One last packet at a moment unrelated to the client's timers, then the broker stops answering (a
    // half-open link): the next PINGREQ goes unanswered.
    const lastPacket = await lastPublishThenSilence(w.conn, lastAnswer);
    await w.conn.next('pingreq', 3000);
    await settlesWithin(w.conn.closed, 5000, 'the client closing the dead link');
    const detectedAfter = Date.now() - lastPacket;
    expect(detectedAfter).toBeGreaterThanOrEqual(1500 - 20);
    expect(detectedAfter).toBeLessThanOrEqual(1500 + TIMER_SLACK);
    const disconnect = w.conn.received.find((p): p is DisconnectPacket => p.type === 'disconnect');
    expect(disconnect?.reasonCode).toBe(0x8d);
    expect(w.errors).toHaveLength(1);
    expect(w.errors[0]).toBeInstanceOf(MqttProtocolError);
    expect((w.errors[0] as MqttProtocolError).reasonCode).toBe(0x8d);
    expect(w.disconnects.map((d) => d.reasonCode)).toEqual([0x8d]);
  });

  it('Server Keep Alive 0 turns keepalive off even when we asked for 1 s', async () => {
    const w = await connectClient(broker, 5, { keepalive: 1 }, { properties: { serverKeepAlive: 0 } });
    await new Promise((r) => setTimeout(r, 2000));
    expect(w.conn.received.filter((p) => p.type === 'pingreq')).toEqual([]);
    expect(w.client.status).toBe('connected');
    await w.client.disconnect();
  });
});

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
