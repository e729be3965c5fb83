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

/** True when nothing more is queued: a next() that is still pending after a turn of the event loop. */
async function isEmpty(sub: Subscription): Promise<boolean> {
  const next = sub[Symbol.asyncIterator]().next();
  const r = await Promise.race([next, new Promise((resolve) => setImmediate(() => resolve('empty')))]);
  return r === 'empty';
}

let broker: MqttAsyncTestBroker;
afterEach(async () => {
  await broker.close();
});

async function pair(v: 4 | 5 = 5): Promise<[MqttDriverClient, MqttDriverClient]> {
  broker = new MqttAsyncTestBroker({ protocolVersion: v });
  return [await broker.connect({ clientId: 'pub' }), await broker.connect({ clientId: 'sub' })];
}

describe('topic matching', () => {
  it('matches + and # by MQTT rules, and leading wildcards never match $ topics', async () => {
    const [pub, sub] = await pair();
    const plus = await sub.subscribe('a/+/c', { qos: 1 });
    const hash = await sub.subscribe('#', { qos: 1 });
    const dollar = await sub.subscribe('$sys/+', { qos: 1 });
    for (const t of ['a/b/c', 'a/b', '$sys/x', 'a/b/c/d']) await pub.publish(t, 'x', { qos: 1 });
    expect((await drain(plus, 1)).map((m) => m.topic)).toEqual(['a/b/c']);
    expect(await isEmpty(plus)).toBe(true);
    expect((await drain(hash, 3)).map((m) => m.topic)).toEqual(['a/b/c', 'a/b', 'a/b/c/d']);
    expect(await isEmpty(hash)).toBe(true);
    expect((await drain(dollar, 1)).map((m) => m.topic)).toEqual(['$sys/x']);
  });

  it('rejects invalid topics and filters with the driver errors', async () => {
    const [pub] = await pair();
    await expect(pub.publish('a/+', 'x')).rejects.toThrow(/wildcard/);
    await expect(pub.subscribe('a/#/b')).rejects.toThrow(/'#' must be a whole level/);
  });
});

describe('QoS, retain, no-local', () => {
  it('delivers with QoS = min(publish, subscription)', async () => {
    const [pub, sub] = await pair();
    const s1 = await sub.subscribe('q/1', { qos: 1 });
    const s2 = await sub.subscribe('q/2', { qos: 2 });
    await pub.publish('q/1', 'x', { qos: 2 });
    await pub.publish('q/2', 'x', { qos: 0 });
    expect((await drain(s1, 1))[0]!.qos).toBe(1);
    expect((await drain(s2, 1))[0]!.qos).toBe(0);
  });

  it('sends retained messages on subscribe with the retain flag, per Retain Handling', async () => {
    const [pub, sub] = await pair();
    await pub.publish('r/a', 'A', { qos: 1, retain: true });
    await pub.publish('r/b', 'B', { qos: 0, retain: true });
    await pub.publish('r/b', '', { retain: true }); // empty payload clears it
    const s = await sub.subscribe('r/#', { qos: 1 });
    const [m] = await drain(s, 1);
    expect([m!.topic, m!.retain, m!.payload.toString()]).toEqual(['r/a', true, 'A']);
    expect(await isEmpty(s)).toBe(true);
    const again = await sub.subscribe('r/#', { qos: 1, retainHandling: 1 }); // existed: nothing
    expect(await isEmpty(again)).toBe(true);
    const never = await sub.subscribe('r/+', { qos: 1, retainHandling: 2 });
    expect(await isEmpty(never)).toBe(true);
    expect(broker.retained().map((r) => r.topic)).toEqual(['r/a']);
  });

  it('clears the retain flag on live delivery unless Retain As Published', async () => {
    const [pub, sub] = await pair();
    const plain = await sub.subscribe('live/x', { qos: 1 });
    const rap = await sub.subscribe('live/+', { qos: 1, retainAsPublished: true });
    await pub.publish('live/x', 'v', { qos: 1, retain: true });
    expect((await drain(plain, 1))[0]!.retain).toBe(false);
    expect((await drain(rap, 1))[0]!.retain).toBe(true);
  });

  it('No Local keeps a client’s own messages from it (MQTT 5), is ignored on 3.1.1', async () => {
    const [, sub] = await pair(5);
    const s = await sub.subscribe('nl', { qos: 1, noLocal: true });
    await sub.publish('nl', 'own', { qos: 1 });
    expect(await isEmpty(s)).toBe(true);
    await broker.close();
    const [, sub4] = await pair(4);
    const s4 = await sub4.subscribe('nl', { qos: 1, noLocal: true });
    await sub4.publish('nl', 'own', { qos: 1 });
    expect((await drain(s4, 1))[0]!.payload.toString()).toBe('own');
  });
});

describe('shared subscriptions', () => {
  it('gives each message to one member of a group, round robin, and to every group', async () => {
    broker = new MqttAsyncTestBroker();
    const pub = await broker.connect();
    const members = await Promise.all([1, 2, 3].map(() => broker.connect()));
    const subs = await Promise.all(members.map((m) => m.subscribe('$share/g/jobs/+', { qos: 1 })));
    const other = await (await broker.connect()).subscribe('$share/h/jobs/#', { qos: 1 });
    for (let i = 0; i < 6; i++) await pub.publish(`jobs/${i}`, String(i), { qos: 1 });
    const got = await Promise.all(subs.map((s) => drain(s, 2)));
    expect(got.map((ms) => ms.map((m) => m.payload.toString()))).toEqual([
      ['0', '3'],
      ['1', '4'],
      ['2', '5'],
    ]);
    expect((await drain(other, 6)).length).toBe(6);
    for (const s of subs) expect(await isEmpty(s)).toBe(true);
  });

  it('sends no retained messages to a shared subscription', async () => {
    const [pub, sub] = await pair();
    await pub.publish('keep', 'k', { qos: 1, retain: true });
    expect(await isEmpty(await sub.subscribe('$share/g/keep', { qos: 1 }))).toBe(true);
  });
});

describe('MQTT 5 properties and 3.1.1 rules', () => {
  it('passes user properties, response topic, correlation data and content type through', async () => {
    const [pub, sub] = await pair();
    const s = await sub.subscribe('p', { qos: 1 });
    await pub.publish('p', '{}', {
      qos: 1,
      properties: {
        userProperties: [
          ['k', 'v'],
          ['k', 'w'],
        ],
        responseTopic: 'r',
        correlationData: Buffer.from('c'),
        contentType: 'application/json',
      },
    });
    const [m] = await drain(s, 1);
    expect(m!.userProperties).toEqual({ k: ['v', 'w'] });
    expect(m!.properties).toMatchObject({ responseTopic: 'r', contentType: 'application/json' });
    expect(m!.properties.correlationData?.toString()).toBe('c');
    expect(m!.properties.subscriptionIdentifier).toEqual([s.subscriptionIdentifier]);
  });

  it('drops properties on a 3.1.1 broker and refuses MQTT 5 clients', async () => {
    const [pub, sub] = await pair(4);
    const s = await sub.subscribe('p', { qos: 1 });
    await pub.publish('p', 'x', { qos: 1, properties: { userProperties: [['k', 'v']], contentType: 'text/plain' } });
    const [m] = await drain(s, 1);
    expect(m!.properties).toEqual({});
    expect(m!.userProperties).toEqual({});
    await expect(broker.connect({ protocolVersion: 5 })).rejects.toThrow(/3\.1\.1 only/);
  });

  it('request() without a response topic fails on 3.1.1 exactly like the real driver', async () => {
    const [pub] = await pair(4);
    await expect(pub.request('x', 'y')).rejects.toThrow('MQTT 3.1.1 has no response topics');
  });

  it('MQTT 5 request() gets the reply carrying its correlation data', async () => {
    const [pub, sub] = await pair();
    const s = await sub.subscribe('svc', { qos: 1 });
    void (async () => {
      for await (const m of s) {
        await sub.publish(m.properties.responseTopic!, `re:${m.payload}`, {
          qos: 1,
          properties: { correlationData: m.properties.correlationData! },
        });
      }
    })();
    const reply = await pub.request('svc', 'hi', { qos: 1, timeout: 1000 });
    expect(reply.payload.toString()).toBe('re:hi');
  });

  it('answers QoS 1 with No matching subscribers (0x10) on MQTT 5 when nobody listens', async () => {
    const [pub] = await pair();
    expect((await pub.publish('nobody', 'x', { qos: 1 })).reasonCode).toBe(0x10);
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

  it('redelivers unacknowledged messages with DUP to a resumed persistent session, and queues while away', async () => {
    broker = new MqttAsyncTestBroker();
    const pub = await broker.connect();
    const options = { clientId: 'worker', cleanStart: false, sessionExpiryInterval: 60 };
    const first = await broker.connect(options);
    const s = await first.subscribe('work/#', { qos: 1, ack: 'manual' });
    await pub.publish('work/1', '1', { qos: 1 });
    await drain(s, 1); // read, never acked
    await first.disconnect();
    await pub.publish('work/2', '2', { qos: 1 });
    const second = await broker.connect(options);
    const again = await second.subscribe('work/#', { qos: 1, ack: 'manual' });
    const ms = await drain(again, 2);
    expect(ms.map((m) => [m.topic, m.dup])).toEqual([
      ['work/1', true],
      ['work/2', false],
    ]);
    await broker.close();
    broker = new MqttAsyncTestBroker();
    const clean = await broker.connect({ clientId: 'w' });
    await clean.subscribe('x', { qos: 1, ack: 'manual' });
    await (await broker.connect()).publish('x', '1', { qos: 1 });
    await clean.disconnect();
    expect(broker.unacked()).toEqual([]); // a clean session ends with its client
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
