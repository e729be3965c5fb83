/**
 * request() (MQTT 5) seen on the wire, against the scripted fake broker: the response topic built on the broker's
 * Response Information, the bound on pending requests, requests that outlive a connection, requests made while
 * reconnecting, and late or unknown replies.
 */
import { describe, expect, it } from '@jest/globals';
import type { ConnectPacket, PublishPacket, SubscribePacket } from '../../../lib/driver/codec/packets.js';
import {
  connect,
  type MqttClient,
  MqttDisconnectedError,
  MqttTimeoutError,
  MqttTooManyRequestsError,
} from '../../../lib/driver/index.js';
import { connectClient } from '../../hostile/harness.js';
import { type FakeConnection, useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin, until } from '../../support/messages.js';

const broker = useFakeBroker();

/** The next request PUBLISH (one carrying a Response Topic) the client sent on `conn`. */
async function nextRequest(conn: FakeConnection, timeoutMs = 5000): Promise<PublishPacket> {
  for (;;) {
    const p = await conn.next('publish', timeoutMs);
    if (p.properties?.responseTopic) return p;
  }
}

/** Answers `request` as a responder would: on its Response Topic with its Correlation Data. */
function answer(
  conn: FakeConnection,
  request: PublishPacket,
  payload: string,
  o: { qos?: 0 | 1; packetId?: number; correlationData?: Buffer | null } = {},
): void {
  const correlationData = o.correlationData === undefined ? request.properties?.correlationData : o.correlationData;
  conn.send({
    type: 'publish',
    topic: request.properties?.responseTopic as string,
    qos: o.qos ?? 0,
    retain: false,
    dup: false,
    payload: Buffer.from(payload),
    ...(o.qos ? { packetId: o.packetId ?? 1 } : {}),
    properties: correlationData ? { correlationData } : {},
  });
}

/**
 * What `p` has settled to once the reactions already queued have run (one event-loop turn), or 'pending'. Not a
 * wait: callers first prove, by a packet that follows it, that what could settle `p` has been processed.
 */
async function stateNow(p: Promise<unknown>): Promise<unknown> {
  return Promise.race([
    p.then(
      (v) => ({ resolved: v }),
      (e: unknown) => ({ rejected: e }),
    ),
    new Promise((r) => setImmediate(() => r('pending'))),
  ]);
}

describe('the response subscription', () => {
  it("is made on the broker's Response Information, once, and is the request's Response Topic", async () => {
    const w = await connectClient(broker, 5, {}, { properties: { responseInformation: 'replies/for/c7/' } });
    w.conn.autoRespond();
    const c = w.conn.received.find((p): p is ConnectPacket => p.type === 'connect');
    expect(c?.properties?.requestResponseInformation).toBe(true);
    const first = w.client.request('svc/a', 'one', { timeout: 5000 });
    const subscribe = await w.conn.next('subscribe');
    const filter = subscribe.subscriptions[0]?.topicFilter as string;
    expect(subscribe.subscriptions).toHaveLength(1);
    expect(filter).toMatch(/^replies\/for\/c7\/[0-9a-f]{12}$/);
    const req1 = await nextRequest(w.conn);
    expect(req1.topic).toBe('svc/a');
    expect(req1.properties?.responseTopic).toBe(filter);
    expect(req1.properties?.correlationData).toHaveLength(16);
    answer(w.conn, req1, 'r1');
    expect((await settlesWithin(first, 5000, 'the request')).payload.toString()).toBe('r1');

    const second = w.client.request('svc/a', 'two', { timeout: 5000 });
    const req2 = await nextRequest(w.conn);
    expect(req2.properties?.responseTopic).toBe(filter);
    expect(req2.properties?.correlationData?.equals(req1.properties?.correlationData as Buffer)).toBe(false);
    answer(w.conn, req2, 'r2');
    expect((await settlesWithin(second, 5000, 'the request')).payload.toString()).toBe('r2');
    expect(w.conn.received.filter((p) => p.type === 'subscribe')).toHaveLength(1);
    await w.client.disconnect();
  });

  it('without Response Information it is a random per-client topic', async () => {
    const w = await connectClient(broker, 5);
    w.conn.autoRespond();
    const pending = w.client.request('svc/a', 'x', { timeout: 5000 });
    const subscribe = await w.conn.next('subscribe');
    expect(subscribe.subscriptions[0]?.topicFilter).toMatch(/^[0-9a-f]{12}\/responses$/);
    const req = await nextRequest(w.conn);
    expect(req.properties?.responseTopic).toBe(subscribe.subscriptions[0]?.topicFilter);
    answer(w.conn, req, 'ok');
    await settlesWithin(pending, 5000, 'the request');
    await w.client.disconnect();
  });

  it('an invalid request topic throws before any I/O (no SUBSCRIBE either)', async () => {
    const w = await connectClient(broker, 5);
    w.conn.autoRespond();
    await expect(w.client.request('svc/+/bad', 'x')).rejects.toMatchObject({ name: 'MqttInvalidTopicError' });
    await w.client.publish('sync', 'x', { qos: 1 });
    expect(w.conn.received.filter((p) => p.type === 'subscribe')).toEqual([]);
    await w.client.disconnect();
  });
});

describe('maxPendingRequests', () => {
  it('bounds requests waiting for a reply — also those made before the response subscription exists', async () => {
    const w = await connectClient(broker, 5, { maxPendingRequests: 2 });
    // SUBACK is held back: all three calls happen while the response subscription is being made.
    const a = w.client.request('svc/a', 'a', { timeout: 5000 });
    const b = w.client.request('svc/a', 'b', { timeout: 5000 });
    const c = w.client.request('svc/a', 'c', { timeout: 5000 });
    const error = await settlesWithin(
      c.then(
        () => new Error('the third request was accepted'),
        (e: unknown) => e,
      ),
      2000,
      'the third request',
    );
    expect(error).toBeInstanceOf(MqttTooManyRequestsError);
    expect((error as MqttTooManyRequestsError).reasonCode).toBe(0x97);
    expect((error as Error).message).toMatch(/maxPendingRequests/);
    w.conn.autoRespond();
    const [reqA, reqB] = [await nextRequest(w.conn), await nextRequest(w.conn)];
    expect([reqA.payload.toString(), reqB.payload.toString()]).toEqual(['a', 'b']);
    // Still full until one settles; a reply frees its slot.
    await expect(w.client.request('svc/a', 'd')).rejects.toBeInstanceOf(MqttTooManyRequestsError);
    answer(w.conn, reqA, 'ra');
    await settlesWithin(a, 5000, 'request a');
    const d = w.client.request('svc/a', 'd', { timeout: 200 });
    expect((await nextRequest(w.conn)).payload.toString()).toBe('d');
    // A timeout frees its slot too.
    await expect(d).rejects.toBeInstanceOf(MqttTimeoutError);
    const e = w.client.request('svc/a', 'e', { timeout: 5000 });
    const reqE = await nextRequest(w.conn);
    answer(w.conn, reqB, 'rb');
    answer(w.conn, reqE, 're');
    expect((await settlesWithin(b, 5000, 'request b')).payload.toString()).toBe('rb');
    expect((await settlesWithin(e, 5000, 'request e')).payload.toString()).toBe('re');
    expect(
      w.conn.received.filter((p) => p.type === 'publish').map((p) => (p as PublishPacket).payload.toString()),
    ).toEqual(['a', 'b', 'd', 'e']);
    await w.client.disconnect();
  });
});

/** A client with reconnect on, connected to the fake broker (answering SUBSCRIBE, PINGREQ, acks). */
async function reconnectingClient(): Promise<{ client: MqttClient; conn: FakeConnection }> {
  const pending = connect(broker.url, {
    clientId: 'rr',
    cleanStart: false,
    sessionExpiryInterval: 60,
    keepalive: 0,
    reconnect: { initialDelay: 10, maxDelay: 20 },
  });
  const conn = await broker.nextConnection();
  await conn.handshake();
  conn.autoRespond();
  return { client: await pending, conn };
}

describe('requests across a reconnect', () => {
  for (const sessionPresent of [true, false]) {
    it(`sent before the cut, answered on the next connection (session present: ${sessionPresent})`, async () => {
      const { client, conn } = await reconnectingClient();
      try {
        const q0 = client.request('svc/a', 'q0', { timeout: 8000 });
        const q1 = client.request('svc/a', 'q1', { timeout: 8000, qos: 1 });
        const req0 = await nextRequest(conn);
        const req1 = await nextRequest(conn);
        expect(req1.qos).toBe(1);
        conn.close();
        const conn2 = await broker.nextConnection();
        await conn2.handshake({ sessionPresent });
        conn2.autoRespond();
        if (!sessionPresent) {
          // The broker lost the session: the response subscription is made again.
          const subscribe: SubscribePacket = await conn2.next('subscribe');
          expect(subscribe.subscriptions[0]?.topicFilter).toBe(req0.properties?.responseTopic);
        }
        // The QoS 1 request was acknowledged on the old link: it is not resent; the QoS 0 one never is.
        answer(conn2, req0, 'a0');
        answer(conn2, req1, 'a1', { qos: 1, packetId: 9 });
        expect((await settlesWithin(q0, 5000, 'the QoS 0 request')).payload.toString()).toBe('a0');
        expect((await settlesWithin(q1, 5000, 'the QoS 1 request')).payload.toString()).toBe('a1');
        await conn2.next('puback');
      } finally {
        await client.disconnect();
      }
    });
  }

  it('a QoS 1 request not yet acknowledged at the cut is resent (DUP, same correlation data) and answered', async () => {
    const pending = connect(broker.url, {
      clientId: 'rr-dup',
      cleanStart: false,
      sessionExpiryInterval: 60,
      keepalive: 0,
      reconnect: { initialDelay: 10 },
    });
    const conn = await broker.nextConnection();
    await conn.handshake();
    const client = await pending;
    try {
      const r = client.request('svc/a', 'q', { timeout: 8000, qos: 1 });
      const subscribe = await conn.next('subscribe');
      conn.send({ type: 'suback', packetId: subscribe.packetId, reasonCodes: [1] });
      const req = await nextRequest(conn); // never acknowledged
      conn.close();
      const conn2 = await broker.nextConnection();
      await conn2.handshake({ sessionPresent: true });
      conn2.autoRespond();
      const again = await nextRequest(conn2);
      expect(again.dup).toBe(true);
      expect(again.properties?.correlationData?.equals(req.properties?.correlationData as Buffer)).toBe(true);
      answer(conn2, again, 'answered');
      expect((await settlesWithin(r, 5000, 'the request')).payload.toString()).toBe('answered');
    } finally {
      await client.disconnect();
    }
  });
});

describe('a request made while the client is reconnecting (default QoS 0)', () => {
  it('waits for the connection within its timeout, then subscribes, publishes and resolves', async () => {
    const { client, conn } = await reconnectingClient();
    try {
      conn.close();
      const conn2 = await broker.nextConnection(); // accepted, but no CONNACK yet
      expect(client.status).toBe('reconnecting');
      const r = client.request('svc/a', 'while-offline', { timeout: 5000 });
      // Neither refused for want of a link nor sent: it waits (its only timer is the 5 s timeout).
      expect(await stateNow(r)).toBe('pending');
      await conn2.handshake();
      conn2.autoRespond();
      const subscribe = await conn2.next('subscribe');
      const req = await nextRequest(conn2);
      expect(req.qos).toBe(0);
      expect(req.properties?.responseTopic).toBe(subscribe.subscriptions[0]?.topicFilter);
      answer(conn2, req, 'welcome back');
      expect((await settlesWithin(r, 5000, 'the request')).payload.toString()).toBe('welcome back');
    } finally {
      await client.disconnect();
    }
  });

  it('whose timeout ends before the reconnect rejects with MqttTimeoutError and is never sent', async () => {
    const { client, conn } = await reconnectingClient();
    try {
      conn.close();
      const conn2 = await broker.nextConnection();
      const r = client.request('svc/a', 'too-late', { timeout: 200 });
      const error = await settlesWithin(
        r.then(
          () => undefined,
          (e: unknown) => e,
        ),
        3000,
        'the request',
      );
      expect(error).toBeInstanceOf(MqttTimeoutError);
      expect((error as Error).message).toMatch(/not connected/i);
      await conn2.handshake();
      conn2.autoRespond();
      await client.publish('sync', 'x', { qos: 1 });
      // Sentinel: packets arrive in order, so once 'sync' is here a resent request would have arrived before it.
      const isSync = (p: { type: string }) => p.type === 'publish' && (p as PublishPacket).topic === 'sync';
      await until(() => conn2.received.some(isSync), 3000, 'the sync');
      expect(conn2.received.filter((p) => p.type === 'publish').map((p) => (p as PublishPacket).topic)).toEqual([
        'sync',
      ]);
    } finally {
      await client.disconnect();
    }
  });

  it('rejects with MqttDisconnectedError as soon as the client is closed instead', async () => {
    const { client, conn } = await reconnectingClient();
    conn.close();
    await broker.nextConnection();
    const r = client.request('svc/a', 'x', { timeout: 10_000 });
    const started = Date.now();
    await client.disconnect();
    await expect(settlesWithin(r, 3000, 'the request')).rejects.toBeInstanceOf(MqttDisconnectedError);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('late and unknown replies', () => {
  it('are acknowledged and dropped: no error, never handed to another pending request', async () => {
    const w = await connectClient(broker, 5);
    w.conn.autoRespond();
    const late = w.client.request('svc/a', 'late', { timeout: 200 });
    const lateReq = await nextRequest(w.conn);
    await expect(late).rejects.toBeInstanceOf(MqttTimeoutError);
    const waiting = w.client.request('svc/a', 'waiting', { timeout: 5000 });
    const waitingReq = await nextRequest(w.conn);
    answer(w.conn, lateReq, 'late reply', { qos: 1, packetId: 21 });
    answer(w.conn, lateReq, 'unknown reply', { qos: 1, packetId: 22, correlationData: Buffer.alloc(16, 7) });
    answer(w.conn, lateReq, 'no correlation data', { qos: 1, packetId: 23, correlationData: null });
    // Every one of them is acknowledged (a held one would use up our Receive Maximum) ...
    const acked = [await w.conn.next('puback'), await w.conn.next('puback'), await w.conn.next('puback')];
    expect(acked.map((p) => p.packetId)).toEqual([21, 22, 23]);
    // ... and none resolved the request still waiting (each PUBACK leaves after its reply was routed).
    expect(await stateNow(waiting)).toBe('pending');
    answer(w.conn, waitingReq, 'the right reply');
    expect((await settlesWithin(waiting, 5000, 'the request')).payload.toString()).toBe('the right reply');
    expect(w.errors).toEqual([]);
    expect(w.client.status).toBe('connected');
    await w.client.disconnect();
  });
});
