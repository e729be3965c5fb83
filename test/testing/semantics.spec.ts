import { afterEach, describe, expect, it } from '@jest/globals';
import type { MqttDriverClient, MqttMessage, Subscription } from '../../lib/driver/index.js';
import { MqttAsyncTestBroker } from '../../lib/testing/index.js';

/** Reads the messages queued in a Subscription right now (without waiting for more). */
async function drain(sub: Subscription, count: number): Promise<MqttMessage[]> {
  const it = sub[Symbol.asyncIterator]();
  const out: MqttMessage[] = [];
  for (let i = 0; i < count; i++) out.push((await it.next()).value as MqttMessage);
  return out;
}

let broker: MqttAsyncTestBroker;
afterEach(async () => {
  await broker.close();
});

async function pair(v: 4 | 5 = 5): Promise<[MqttDriverClient, MqttDriverClient]> {
  broker = new MqttAsyncTestBroker({ protocolVersion: v });
  return [await broker.connect({ clientId: 'pub' }), await broker.connect({ clientId: 'sub' })];
}

describe('3.1.1 broker', () => {
  it('drops properties on a 3.1.1 broker and refuses MQTT 5 clients', async () => {
    const [pub, sub] = await pair(4);
    const s = await sub.subscribe('p', { qos: 1 });
    await pub.publish('p', 'x', { qos: 1, properties: { userProperties: [['k', 'v']], contentType: 'text/plain' } });
    const [m] = await drain(s, 1);
    expect(m!.properties).toEqual({});
    expect(m!.userProperties).toEqual({});
    await expect(broker.connect({ protocolVersion: 5 })).rejects.toThrow(/3\.1\.1 only/);
  });
});

describe('acknowledgements and sessions', () => {
  it('keeps manual-ack messages in unacked() until acked; auto ack on read', async () => {
    const [pub, sub] = await pair();
    const manual = await sub.subscribe('m', { qos: 1, ack: 'manual' });
    const auto = await sub.subscribe('a', { qos: 1 });
    await pub.publish('m', '1', { qos: 1 });
    await pub.publish('a', '2', { qos: 1 });
    expect(broker.unacked().map((u) => u.topic)).toEqual(['m', 'a']); // both delivered, neither read
    const [m] = await drain(manual, 1);
    await drain(auto, 1);
    expect(broker.unacked().map((u) => [u.topic, u.clientId])).toEqual([['m', 'sub']]);
    await m!.ack();
    expect(broker.unacked()).toEqual([]);
  });

  it('on 3.1.1 acknowledges a message handed to several Subscriptions once all of them acked', async () => {
    const [pub, sub] = await pair(4);
    const wide = await sub.subscribe('m/#', { qos: 1, ack: 'manual' });
    const narrow = await sub.subscribe('m/a', { qos: 1, ack: 'manual' });
    await pub.publish('m/a', '1', { qos: 1 });
    const [[w], [n]] = await Promise.all([drain(wide, 1), drain(narrow, 1)]);
    expect(broker.unacked().map((u) => u.topic)).toEqual(['m/a']);
    await w!.ack();
    expect(broker.unacked().map((u) => u.topic)).toEqual(['m/a']);
    await n!.ack();
    expect(broker.unacked()).toEqual([]);
  });

  it('ends a clean session with its client: its unacknowledged messages are gone', async () => {
    const [pub, sub] = await pair();
    await sub.subscribe('x', { qos: 1, ack: 'manual' });
    await pub.publish('x', '1', { qos: 1 });
    expect(broker.unacked().map((u) => [u.topic, u.clientId, u.dup])).toEqual([['x', 'sub', false]]);
    await sub.disconnect();
    expect(broker.unacked()).toEqual([]);
  });

  it('takes a session over when a second client connects with the same identifier', async () => {
    const [, sub] = await pair();
    const events: unknown[] = [];
    sub.on('disconnect', (e) => events.push(e.reasonCode));
    await broker.connect({ clientId: 'sub' });
    expect(sub.status).toBe('closed');
    expect(events).toEqual([0x8e]);
  });

  it('settles every promise when a client disconnects', async () => {
    const [pub, sub] = await pair();
    const s = await sub.subscribe('never', { qos: 1 });
    const pending = s[Symbol.asyncIterator]().next();
    const request = pub.request('nobody-answers', 'x', { timeout: 60_000 });
    await new Promise((resolve) => setImmediate(resolve)); // the request is out, waiting for its reply
    await sub.disconnect();
    await pub.disconnect();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    await expect(request).rejects.toThrow(/abandoned/);
    await expect(pub.publish('x', 'y')).rejects.toThrow(/closed/);
  });
});

describe('published log', () => {
  it('records, filters, waits for and clears published messages', async () => {
    broker = new MqttAsyncTestBroker();
    const c = await broker.connect({ clientId: 'c' });
    const later = broker.waitFor('out/+');
    await broker.publish('in/json', { a: 1 }, { userProperties: { k: 'v' } });
    await c.publish('out/bin', Buffer.from([0xff, 0x00]), { qos: 2, retain: true });
    expect(await later).toMatchObject({ topic: 'out/bin', qos: 2, retain: true, clientId: 'c' });
    expect(broker.published('in/#')).toEqual([
      expect.objectContaining({ payload: { a: 1 }, userProperties: { k: 'v' }, qos: 1 }),
    ]);
    expect(broker.published('out/bin')[0]!.payload).toEqual(Buffer.from([0xff, 0x00]));
    expect(broker.published((r) => r.qos === 2)).toHaveLength(1);
    broker.clear();
    expect(broker.published()).toEqual([]);
    await expect(broker.waitFor('none', { timeout: 20 })).rejects.toThrow(/No message on 'none'/);
  });
});

describe('bounds', () => {
  it('keeps the last maxRecords published records and maxQueuedMessages for an absent session', async () => {
    broker = new MqttAsyncTestBroker({ maxRecords: 3, maxQueuedMessages: 2 });
    const pub = await broker.connect();
    const session = { clientId: 'away', cleanStart: false, sessionExpiryInterval: 60 };
    await (await broker.connect(session)).subscribe('q/+', { qos: 1 });
    const away = await broker.connect(session);
    await away.subscribe('q/+', { qos: 1 });
    await away.disconnect();
    for (let i = 0; i < 5; i++) await pub.publish(`q/${i}`, String(i), { qos: 1 });
    expect(broker.published().map((r) => r.topic)).toEqual(['q/2', 'q/3', 'q/4']);
    const back = await broker.connect(session);
    const sub = await back.subscribe('q/+', { qos: 1 });
    expect((await drain(sub, 2)).map((m) => m.topic)).toEqual(['q/0', 'q/1']);
    expect(broker.unacked()).toEqual([]);
  });
});
