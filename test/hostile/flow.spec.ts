/**
 * Hostile broker: topic aliases we never allowed, more unacknowledged QoS 1/2 PUBLISHes than our Receive
 * Maximum, a CONNACK that never comes, acknowledgements with packet ids we never used.
 */
import { describe, expect, it } from '@jest/globals';
import type { PublishPacket } from '../../lib/driver/codec/packets.js';
import { connect, MqttConnectError, MqttDisconnectedError, MqttPublishError } from '../../lib/driver/index.js';
import { useFakeBroker } from '../support/fake-broker.js';
import { settlesWithin, take } from '../support/messages.js';
import { connectClient, expectProtocolClose, VERSIONS } from './harness.js';

const broker = useFakeBroker();

const publish = (topic: string, qos: 0 | 1 | 2, packetId?: number, alias?: number): PublishPacket => ({
  type: 'publish',
  topic,
  qos,
  retain: false,
  dup: false,
  payload: Buffer.from('m'),
  ...(packetId === undefined ? {} : { packetId }),
  ...(alias === undefined ? {} : { properties: { topicAlias: alias } }),
});

describe('v5: topic aliases', () => {
  it('an alias when we allowed none (Topic Alias Maximum 0) → DISCONNECT 0x94', async () => {
    const w = await connectClient(broker, 5);
    w.conn.send(publish('a/b', 0, undefined, 1));
    await expectProtocolClose(w, 0x94);
  });

  it('an alias above our Topic Alias Maximum → DISCONNECT 0x94', async () => {
    const w = await connectClient(broker, 5, { topicAliasMaximum: 4 });
    w.conn.send(publish('a/b', 0, undefined, 5));
    await expectProtocolClose(w, 0x94);
  });

  it('an alias that was never mapped (empty topic) → DISCONNECT 0x82 (3.3.2.3.4 calls it a Protocol Error)', async () => {
    const w = await connectClient(broker, 5, { topicAliasMaximum: 4 });
    w.conn.send(publish('', 0, undefined, 2));
    await expectProtocolClose(w, 0x82);
  });

  it('a mapped alias is resolved (control: valid aliases work)', async () => {
    const w = await connectClient(broker, 5, { topicAliasMaximum: 4 });
    w.conn.autoRespond();
    const sub = await w.client.subscribe('a/#');
    w.conn.send(publish('a/b', 0, undefined, 3));
    w.conn.send(publish('', 0, undefined, 3));
    const got = await take(sub, 2, 5000);
    expect(got.map((m) => m.topic)).toEqual(['a/b', 'a/b']);
    expect(w.errors).toEqual([]);
    await w.client.disconnect();
  });
});

for (const v of VERSIONS) {
  describe(`v${v}: Receive Maximum`, () => {
    // 3.1.1 cannot advertise a Receive Maximum; the driver still bounds unacknowledged inbound messages.
    const receiveMaximum = 5;

    it('QoS 1: one unacknowledged PUBLISH more than our Receive Maximum → DISCONNECT 0x93', async () => {
      const w = await connectClient(broker, v, { receiveMaximum, receiveMaximumTolerance: 0 });
      w.conn.autoRespond();
      if (v === 5) {
        const c = w.conn.received.find((p) => p.type === 'connect');
        expect(c?.type === 'connect' && c.properties?.receiveMaximum).toBe(receiveMaximum);
      }
      await w.client.subscribe('r/#', { qos: 1 }); // never read: nothing is acknowledged
      for (let i = 1; i <= receiveMaximum; i++) w.conn.send(publish('r/x', 1, i));
      w.conn.send(publish('r/x', 1, receiveMaximum + 1));
      await expectProtocolClose(w, 0x93);
      expect(w.conn.received.filter((p) => p.type === 'puback')).toEqual([]);
    });

    it('QoS 2: PUBREC sent but no PUBREL yet still counts against Receive Maximum → DISCONNECT 0x93', async () => {
      const w = await connectClient(broker, v, { receiveMaximum, receiveMaximumTolerance: 0 });
      w.conn.autoRespond();
      const sub = await w.client.subscribe('r/#', { qos: 2 });
      for (let i = 1; i <= receiveMaximum; i++) w.conn.send(publish('r/x', 2, i));
      await take(sub, receiveMaximum, 5000); // read: PUBRECs go out; the broker never releases
      for (let i = 1; i <= receiveMaximum; i++) await w.conn.next('pubrec');
      w.conn.send(publish('r/x', 2, receiveMaximum + 1));
      await expectProtocolClose(w, 0x93);
    });

    it('exactly Receive Maximum unacknowledged is fine, and acknowledging frees the window (control)', async () => {
      const w = await connectClient(broker, v, { receiveMaximum, receiveMaximumTolerance: 0 });
      w.conn.autoRespond();
      const sub = await w.client.subscribe('r/#', { qos: 1 });
      for (let i = 1; i <= receiveMaximum; i++) w.conn.send(publish('r/x', 1, i));
      await take(sub, receiveMaximum, 5000);
      for (let i = 1; i <= receiveMaximum; i++) await w.conn.next('puback');
      for (let i = 1; i <= receiveMaximum; i++) w.conn.send(publish('r/x', 1, 100 + i));
      await take(sub, receiveMaximum, 5000);
      expect(w.errors).toEqual([]);
      expect(w.client.status).toBe('connected');
      await w.client.disconnect();
    });
  });

  describe(`v${v}: CONNACK that never comes`, () => {
    it('connect() rejects with MqttConnectError after connectTimeout and closes the socket', async () => {
      const pending = connect(broker.url, { protocolVersion: v, reconnect: false, connectTimeout: 300 });
      const conn = await broker.nextConnection();
      await conn.next('connect');
      const error = await settlesWithin(
        pending.then(
          () => undefined,
          (e: unknown) => e,
        ),
        5000,
        'connect()',
      );
      expect(error).toBeInstanceOf(MqttConnectError);
      expect((error as Error).message).toMatch(/CONNACK/);
      await settlesWithin(conn.closed, 5000, 'the socket closing');
    });

    it('with retries, every attempt times out and connect() rejects after maxAttempts', async () => {
      const pending = connect(broker.url, {
        protocolVersion: v,
        connectTimeout: 200,
        reconnect: { maxAttempts: 3, initialDelay: 10, maxDelay: 20 },
      });
      const error = await settlesWithin(
        pending.then(
          () => undefined,
          (e: unknown) => e,
        ),
        10_000,
        'connect()',
      );
      expect(error).toBeInstanceOf(MqttConnectError);
      expect(broker.connections.length).toBe(3);
      await Promise.all(broker.connections.map((c) => settlesWithin(c.closed, 5000, 'each socket closing')));
    });
  });

  describe(`v${v}: acknowledgements for packet ids we never used`, () => {
    it('SUBACK with the wrong packet id → DISCONNECT 0x82, subscribe() rejects', async () => {
      const w = await connectClient(broker, v);
      const sub = w.client.subscribe('s/x', { qos: 1 }).catch((e: unknown) => e);
      const subscribe = await w.conn.next('subscribe');
      w.conn.send({ type: 'suback', packetId: (subscribe.packetId % 65535) + 1, reasonCodes: [1] });
      await expectProtocolClose(w, 0x82);
      expect(await settlesWithin(sub, 5000, 'subscribe()')).toBeInstanceOf(MqttDisconnectedError);
    });

    it('UNSUBACK with the wrong packet id → DISCONNECT 0x82, unsubscribe() settles', async () => {
      const w = await connectClient(broker, v);
      const subscribing = w.client.subscribe('s/x');
      const subscribe = await w.conn.next('subscribe');
      w.conn.send({ type: 'suback', packetId: subscribe.packetId, reasonCodes: [0] });
      const sub = await settlesWithin(subscribing, 5000, 'subscribe()');
      const done = sub.unsubscribe().then(
        () => 'resolved',
        (e: unknown) => e,
      );
      const unsubscribe = await w.conn.next('unsubscribe');
      const reasonCodes = v === 5 ? [0] : [];
      w.conn.send({ type: 'unsuback', packetId: (unsubscribe.packetId % 65535) + 1, reasonCodes });
      await expectProtocolClose(w, 0x82);
      expect(await settlesWithin(done, 5000, 'unsubscribe()')).toBeInstanceOf(MqttDisconnectedError);
    });

    it('PUBACK / PUBREC / PUBCOMP for unknown packet ids are ignored; pending publishes still settle correctly', async () => {
      const w = await connectClient(broker, v);
      const p1 = w.client.publish('p/1', 'a', { qos: 1 });
      const p2 = w.client.publish('p/2', 'b', { qos: 2 });
      const pub1 = await w.conn.next('publish');
      const pub2 = await w.conn.next('publish');
      const unknown = 40_000;
      const rc = v === 5 ? { reasonCode: 0 } : {};
      w.conn.send({ type: 'puback', packetId: unknown, ...rc });
      w.conn.send({ type: 'pubrec', packetId: unknown + 1, ...rc });
      w.conn.send({ type: 'pubcomp', packetId: unknown + 2, ...rc });
      // A PUBACK for the QoS 2 publish's id is the wrong kind of ack: it never resolves it. The broker ended the
      // exchange there (RabbitMQ answers QoS 2 so), so the publish is rejected, typed, instead of pending forever.
      w.conn.send({ type: 'puback', packetId: pub2.packetId as number, ...rc });
      w.conn.send({ type: 'puback', packetId: pub1.packetId as number, ...rc });
      await expect(settlesWithin(p1, 5000, 'the QoS 1 publish')).resolves.toMatchObject({ packetId: pub1.packetId });
      await expect(settlesWithin(p2, 5000, 'the QoS 2 publish')).rejects.toBeInstanceOf(MqttPublishError);
      // A late PUBREC for that id is now for an id we do not use: ignored like the others (no PUBREL). Sentinel:
      // a PUBREL from the broker is answered with PUBCOMP after everything it sent before was processed.
      w.conn.send({ type: 'pubrec', packetId: pub2.packetId as number, ...rc });
      w.conn.send({ type: 'pubrel', packetId: unknown + 3, ...rc });
      await w.conn.next('pubcomp');
      expect(w.conn.received.filter((p) => p.type === 'pubrel')).toEqual([]);
      expect(w.client.status).toBe('connected');
      expect(w.errors).toEqual([]);
      await w.client.disconnect();
    });
  });
}
