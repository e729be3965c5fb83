/**
 * A broker that resumes a session but forgot its shared subscriptions (mosquitto 2.0 after a restart with
 * persistence): the driver re-makes shared filters on every resumed session — and only those, so ordinary
 * subscriptions do not get their retained messages again.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { SubscribePacket } from '../../lib/driver/codec/packets.js';
import { connect, type MqttClient } from '../../lib/driver/index.js';
import { type FakeBroker, startFakeBroker } from '../support/fake-broker.js';
import { nextEvent, settlesWithin, take } from '../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../support/mosquitto.js';

describe('fake broker: resumed session', () => {
  let broker: FakeBroker;
  beforeEach(async () => {
    broker = await startFakeBroker();
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('re-sends SUBSCRIBE for the shared filters only (v5 keeps their subscription identifiers)', async () => {
    const pending = connect(broker.url, { clientId: 'c', keepalive: 0, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const first = await broker.nextConnection();
    await first.handshake();
    first.autoRespond();
    const client = await pending;
    await client.subscribe('plain/#', { qos: 1 });
    await client.subscribe(['$share/g/jobs/#', 'other/+'], { qos: 1 });
    const originals = first.received.filter((p): p is SubscribePacket => p.type === 'subscribe');
    first.close();
    const second = await broker.nextConnection();
    await second.handshake({ sessionPresent: true });
    second.autoRespond();
    const again = await second.next('subscribe');
    expect(again.subscriptions.map((s) => s.topicFilter)).toEqual(['$share/g/jobs/#']);
    const original = originals.find((p) => p.subscriptions.some((s) => s.topicFilter === '$share/g/jobs/#'));
    expect(again.properties?.subscriptionIdentifier).toBe(original?.properties?.subscriptionIdentifier);
    // Sentinel: a publish after the re-SUBSCRIBE; once the broker has it, a second SUBSCRIBE would have come first.
    await client.publish('sentinel', 'x', { qos: 1 });
    expect(second.received.filter((p) => p.type === 'subscribe')).toHaveLength(1);
    await client.disconnect();
  });
});

describe('fake broker: re-SUBSCRIBE cut short', () => {
  let broker: FakeBroker;
  beforeEach(async () => {
    broker = await startFakeBroker();
  });
  afterEach(async () => {
    await broker.stop();
  });

  it('a session created by a connection whose re-SUBSCRIBEs never completed gets them all on the next one', async () => {
    const reconnect = { initialDelay: 10, maxDelay: 10 };
    const pending = connect(broker.url, { clientId: 'c', keepalive: 0, cleanStart: false, reconnect });
    const first = await broker.nextConnection();
    await first.handshake();
    first.autoRespond();
    const client = await pending;
    await client.subscribe('plain/#', { qos: 1 });
    first.close();
    // The broker lost the session; the client re-subscribes, but the link dies before SUBACK.
    const second = await broker.nextConnection();
    await second.handshake({ sessionPresent: false });
    await second.next('subscribe');
    second.close();
    // The broker kept the (empty) session it created for the second connection: session present.
    const third = await broker.nextConnection();
    await third.handshake({ sessionPresent: true });
    third.autoRespond();
    const again = await third.next('subscribe');
    expect(again.subscriptions.map((s) => s.topicFilter)).toEqual(['plain/#']);
    await client.disconnect();
  });
});

describeMosquitto('mosquitto restart with persistence: shared subscriptions of a resumed session', () => {
  let mosquitto: MosquittoHandle;
  const clients: MqttClient[] = [];
  afterAll(async () => {
    for (const c of clients) await c.disconnect({ sessionExpiryInterval: 0 }).catch(() => undefined);
    await mosquitto?.stop();
  });

  it('a group member keeps receiving after the broker restarted and resumed its session', async () => {
    mosquitto = await startMosquitto({ persistence: true });
    const reconnect = { initialDelay: 50, maxDelay: 200 };
    const member = await connect(mosquitto.url, {
      clientId: 'member-1',
      cleanStart: false,
      sessionExpiryInterval: 300,
      reconnect,
    });
    clients.push(member);
    const shared = await member.subscribe('$share/g/jobs/#', { qos: 1 });
    const plain = await member.subscribe('plain/#', { qos: 1 });
    const resumed = nextEvent(member, 'connect');
    await mosquitto.restart();
    const [event] = await settlesWithin(resumed, 10_000, 'the reconnect');
    expect(event.sessionPresent).toBe(true);
    const publisher = await connect(mosquitto.url, { reconnect: false });
    clients.push(publisher);
    // The re-SUBSCRIBE races the publisher's connection: publish until the member receives (a hang guard bounds it).
    let probes = 0;
    const got = take(shared, 1, 8000);
    let received = false;
    void got.then(() => {
      received = true;
    });
    while (!received && probes < 40) {
      await publisher.publish(`jobs/${probes++}`, 'shared', { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await got).map((m) => m.payload.toString())).toEqual(['shared']);
    await publisher.publish('plain/1', 'plain', { qos: 1 });
    expect((await take(plain, 1, 5000)).map((m) => m.payload.toString())).toEqual(['plain']);
  });
});
