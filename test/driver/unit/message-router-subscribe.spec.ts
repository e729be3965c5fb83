/**
 * MessageRouter's SUBSCRIBE/UNSUBSCRIBE side without a network (message-router-fixture.ts): what goes on the
 * wire for each option and protocol version, how SUBACK codes map back to filters, partly refused SUBSCRIBEs, and
 * packet ids around failures. Each case pins a behaviour a mutation run showed untested (docs/mutation.md).
 */
import { describe, expect, it } from '@jest/globals';
import {
  MqttDisconnectedError,
  MqttInvalidTopicError,
  MqttMessageDroppedError,
  MqttProtocolError,
  MqttSubscribeError,
} from '../../../lib/driver/errors.js';
import { publish, read, settled, setup, subscribed, tracker, trackLikeClient } from './message-router-fixture.js';

describe('MessageRouter subscribe (no network)', () => {
  it('subscribe([]) and an invalid filter reject before anything is written or an id is taken', async () => {
    const { host, ids, router } = setup();
    await expect(router.subscribe([], {})).rejects.toMatchObject({ constructor: MqttSubscribeError, reasonCodes: [] });
    await expect(router.subscribe(['ok', 'a/#/b'], {})).rejects.toBeInstanceOf(MqttInvalidTopicError);
    expect(host.sent).toEqual([]);
    expect(ids.inUse).toBe(0);
  });

  it('3.1.1: all filters in one SUBSCRIBE without properties; granted codes in filter order', async () => {
    const { host, router } = setup(4);
    // overlapping filters: on MQTT 5 these would be split over two identifiers; 3.1.1 has none to split by
    const pending = router.subscribe(['v/+', 'v/1'], { qos: 1 });
    expect(host.sent).toHaveLength(1);
    const packet = host.last('subscribe');
    expect(packet.properties).toBeUndefined();
    expect(packet.subscriptions.map((s) => s.topicFilter)).toEqual(['v/+', 'v/1']);
    router.onAck({ type: 'suback', packetId: packet.packetId, reasonCodes: [1, 0] });
    const sub = await pending;
    expect(sub.granted).toEqual([1, 0]);
    expect(sub.subscriptionIdentifier).toBeUndefined();
  });

  it('MQTT 5 without subscription identifiers at the broker: none sent, messages routed by topic', async () => {
    const s = setup(5);
    s.host.serverProperties = { subscriptionIdentifierAvailable: false };
    const sub = await subscribed(s, ['w/+', 'w/1']);
    expect(s.host.sent).toHaveLength(1);
    expect(s.host.last('subscribe').properties).toEqual({});
    expect(sub.subscriptionIdentifier).toBeUndefined();
    const { track, holders } = tracker();
    s.router.route(publish('w/1', 1, [99]), track); // an identifier we never gave: ignored, the topic decides
    expect(holders).toEqual([1]);
    expect((await read(sub))?.topic).toBe('w/1');
  });

  it('MQTT 5 overlapping filters: one SUBSCRIBE per identifier, codes put back in filter order', async () => {
    const { host, router } = setup(5);
    const pending = router.subscribe(['o/+', 'o/1', 'p'], {});
    const [first, second] = host.all('subscribe');
    expect(host.sent).toHaveLength(2);
    expect(first?.subscriptions.map((s) => s.topicFilter)).toEqual(['o/+', 'p']);
    expect(second?.subscriptions.map((s) => s.topicFilter)).toEqual(['o/1']);
    expect(first?.properties?.subscriptionIdentifier).not.toBe(second?.properties?.subscriptionIdentifier);
    // answered out of order
    router.onAck({ type: 'suback', packetId: second?.packetId ?? 0, reasonCodes: [2] });
    router.onAck({ type: 'suback', packetId: first?.packetId ?? 0, reasonCodes: [0, 1] });
    const sub = await pending;
    expect(sub.granted).toEqual([0, 2, 1]);
    expect(sub.subscriptionIdentifier).toBe(first?.properties?.subscriptionIdentifier);
  });

  it('a one-filter Subscription is granted exactly the code its SUBACK gave', async () => {
    const { host, router } = setup(4);
    for (const code of [0, 1, 2]) {
      const pending = router.subscribe([`q${code}`], {});
      router.onAck({ type: 'suback', packetId: host.last('subscribe').packetId, reasonCodes: [code] });
      expect((await pending).granted).toEqual([code]);
    }
  });

  it('MQTT 5 before the first CONNACK (no server properties yet): subscribe() rejects as offline', async () => {
    const { host, router } = setup(5);
    host.serverProperties = undefined;
    host.status = 'connecting';
    await expect(router.subscribe(['a'], {})).rejects.toBeInstanceOf(MqttDisconnectedError);
  });

  it('a SUBACK with fewer codes than filters refuses the filters it left out (0x80)', async () => {
    const one = setup(5);
    const single = one.router.subscribe(['s'], {});
    one.router.onAck({ type: 'suback', packetId: one.host.last('subscribe').packetId, reasonCodes: [] });
    await expect(single).rejects.toMatchObject({ constructor: MqttSubscribeError, reasonCodes: [0x80] });

    const two = setup(5);
    const pending = two.router.subscribe(['m/+', 'm/1'], {});
    for (const p of two.host.all('subscribe'))
      two.router.onAck({ type: 'suback', packetId: p.packetId, reasonCodes: [] });
    await expect(pending).rejects.toMatchObject({ reasonCodes: [0x80, 0x80] });
  });

  it('puts the subscribe options on the wire: qos defaults to 0, user properties only when given', async () => {
    const { host, router } = setup(5);
    void router.subscribe(['d'], {});
    const plain = host.last('subscribe');
    expect(plain.subscriptions).toEqual([
      { topicFilter: 'd', qos: 0, noLocal: undefined, retainAsPublished: undefined, retainHandling: undefined },
    ]);
    expect(plain.properties).toEqual({ subscriptionIdentifier: plain.properties?.subscriptionIdentifier });
    const userProperties: [string, string][] = [['k', 'v']];
    void router.subscribe(['e'], { qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, userProperties });
    const full = host.last('subscribe');
    expect(full.subscriptions).toEqual([
      { topicFilter: 'e', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 },
    ]);
    expect(full.properties).toEqual({ subscriptionIdentifier: expect.any(Number), userProperties });
  });

  it('partly refused: rejects with every code and UNSUBSCRIBEs only the granted filters', async () => {
    const { host, ids, router } = setup(4);
    const pending = router.subscribe(['g/a', 'g/b', 'g/c'], { qos: 1 });
    router.onAck({ type: 'suback', packetId: host.last('subscribe').packetId, reasonCodes: [1, 0x80, 0x87] });
    await expect(pending).rejects.toMatchObject({ constructor: MqttSubscribeError, reasonCodes: [1, 0x80, 0x87] });
    const unsub = host.last('unsubscribe');
    expect(unsub.topicFilters).toEqual(['g/a']);
    expect(ids.inUse).toBe(1);
    router.onAck({ type: 'unsuback', packetId: unsub.packetId, reasonCodes: [0] });
    expect(ids.inUse).toBe(0);
    expect(host.errors).toEqual([]);
  });

  it('partly refused while the link is going: no UNSUBSCRIBE, and a lost UNSUBACK is not an error', async () => {
    const offline = setup(4);
    const first = offline.router.subscribe(['h/a', 'h/b'], {});
    offline.host.status = 'reconnecting';
    offline.router.onAck({ type: 'suback', packetId: offline.host.last('subscribe').packetId, reasonCodes: [0, 0x80] });
    await expect(first).rejects.toBeInstanceOf(MqttSubscribeError);
    expect(offline.host.all('unsubscribe')).toEqual([]);

    const cut = setup(4);
    const second = cut.router.subscribe(['h/a', 'h/b'], {});
    cut.router.onAck({ type: 'suback', packetId: cut.host.last('subscribe').packetId, reasonCodes: [0, 0x80] });
    await expect(second).rejects.toBeInstanceOf(MqttSubscribeError);
    expect(cut.host.all('unsubscribe')).toHaveLength(1);
    cut.router.onConnectionLost();
    await settled();
    expect(cut.host.errors).toEqual([]);
    expect(cut.ids.inUse).toBe(0);
  });

  it('a refused SUBSCRIBE acknowledges what was routed to it before the SUBACK', async () => {
    const { host, router } = setup(4);
    const pending = router.subscribe(['r/+'], {});
    const { track, settled } = tracker();
    router.route(publish('r/1', 1), track);
    expect(settled).toEqual([]);
    router.onAck({ type: 'suback', packetId: host.last('subscribe').packetId, reasonCodes: [0x80] });
    await expect(pending).rejects.toBeInstanceOf(MqttSubscribeError);
    expect(settled).toEqual([0]);
    expect(host.all('unsubscribe')).toEqual([]); // nothing granted: nothing to undo
  });

  it('an offline SUBSCRIBE leaves no waiter behind: a SUBACK for its id is a protocol error', async () => {
    const { host, router } = setup();
    host.status = 'reconnecting';
    await expect(router.subscribe(['a'], {})).rejects.toBeInstanceOf(MqttDisconnectedError);
    expect(() => router.onAck({ type: 'suback', packetId: 1, reasonCodes: [0] })).toThrow(MqttProtocolError);
  });

  it('each SUBACK is taken once: a second one for the same id is a protocol error', async () => {
    const { host, router } = setup();
    const pending = router.subscribe(['a'], {});
    const packetId = host.last('subscribe').packetId;
    router.onAck({ type: 'suback', packetId, reasonCodes: [0] });
    await pending;
    expect(() => router.onAck({ type: 'suback', packetId, reasonCodes: [0] })).toThrow(MqttProtocolError);
  });

  it('a lost link rejects every SUBSCRIBE waiting for its SUBACK', async () => {
    const { ids, router } = setup(4);
    const all = [router.subscribe(['a'], {}), router.subscribe(['b'], {}), router.subscribe(['c'], {})];
    router.onConnectionLost();
    for (const p of all) await expect(p).rejects.toBeInstanceOf(MqttDisconnectedError);
    expect(ids.inUse).toBe(0);
  });

  it('unsubscribe() while offline writes nothing and resolves; the filter is forgotten', async () => {
    const s = setup(4);
    const sub = await subscribed(s, ['z']);
    s.host.status = 'reconnecting';
    await sub.unsubscribe();
    expect(s.host.all('unsubscribe')).toEqual([]);
    s.host.status = 'connected';
    s.router.onConnected(false);
    expect(s.host.all('subscribe')).toHaveLength(1); // not re-made: it was unsubscribed
  });

  it('ack "auto" (the default) settles a message when it is read, "manual" leaves it to the application', async () => {
    const s = setup(4);
    const auto = await subscribed(s, ['auto']);
    const manual = await subscribed(s, ['manual'], { ack: 'manual' });
    const a = tracker();
    const m = tracker();
    s.router.route(publish('auto', 1), a.track);
    s.router.route(publish('manual', 1), m.track);
    await read(auto);
    const msg = await read(manual);
    expect(a.settled).toEqual([0]);
    expect(m.settled).toEqual([]);
    await msg?.ack();
    expect(m.settled).toEqual([0]);
  });

  it('bufferSize bounds the unread QoS 0 messages: 1000 by default, then dropped and reported', async () => {
    const s = setup(4);
    await subscribed(s, ['b/1'], { bufferSize: 2 });
    await subscribed(s, ['b/2']);
    const { track } = tracker();
    for (let i = 0; i < 2; i++) s.router.route(publish('b/1'), track);
    for (let i = 0; i < 1000; i++) s.router.route(publish('b/2'), track);
    expect(s.host.errors).toEqual([]);
    s.router.route(publish('b/1'), track);
    s.router.route(publish('b/2'), trackLikeClient(0)); // as the client tracks QoS 0: nothing to settle
    expect(s.host.errors.map((e) => [e.constructor, e.message])).toEqual([
      [MqttMessageDroppedError, 'Subscription buffer full: QoS 0 message on b/1 dropped'],
      [MqttMessageDroppedError, 'Subscription buffer full: QoS 0 message on b/2 dropped'],
    ]);
  });
});
