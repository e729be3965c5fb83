/**
 * The driver's MessageRouter without a network (message-router-fixture.ts): the test plays the broker by calling
 * onAck/route/onConnected/onConnectionLost.
 */
import { describe, expect, it } from '@jest/globals';
import {
  MqttDisconnectedError,
  MqttMessageDroppedError,
  MqttProtocolError,
  MqttSubscribeError,
} from '../../../lib/driver/errors.js';
import { publish, setup, tracker } from './message-router-fixture.js';

describe('MessageRouter (no network)', () => {
  it('SUBSCRIBE takes its packet id from the injected PacketIds and releases it on SUBACK', async () => {
    const { host, ids, router } = setup();
    const pending = router.subscribe(['a/+'], { qos: 1 });
    const sub = host.last('subscribe');
    expect(ids.inUse).toBe(1);
    expect(sub.subscriptions).toEqual([expect.objectContaining({ topicFilter: 'a/+', qos: 1 })]);
    expect(sub.properties?.subscriptionIdentifier).toBeGreaterThan(0);
    router.onAck({ type: 'suback', packetId: sub.packetId, reasonCodes: [1] });
    const s = await pending;
    expect(s.granted).toEqual([1]);
    expect(ids.inUse).toBe(0);
  });

  it('a refused filter rejects with MqttSubscribeError carrying the codes', async () => {
    const { host, router } = setup();
    const pending = router.subscribe(['x'], {});
    router.onAck({ type: 'suback', packetId: host.last('subscribe').packetId, reasonCodes: [0x87] });
    await expect(pending).rejects.toMatchObject({ constructor: MqttSubscribeError, reasonCodes: [0x87] });
  });

  it('a lost link rejects a SUBSCRIBE waiting for its SUBACK and frees its id', async () => {
    const { ids, router } = setup();
    const pending = router.subscribe(['a'], {});
    router.onConnectionLost();
    await expect(pending).rejects.toBeInstanceOf(MqttDisconnectedError);
    expect(ids.inUse).toBe(0);
  });

  it('offline: SUBSCRIBE rejects at once with MqttDisconnectedError', async () => {
    const { host, ids, router } = setup();
    host.status = 'reconnecting';
    await expect(router.subscribe(['a'], {})).rejects.toBeInstanceOf(MqttDisconnectedError);
    expect(ids.inUse).toBe(0);
  });

  it('a SUBACK for an id we never used is a 0x82 protocol error', () => {
    const { router } = setup();
    expect(() => router.onAck({ type: 'suback', packetId: 42, reasonCodes: [0] })).toThrow(MqttProtocolError);
  });

  it('routes by subscription identifier on MQTT 5 and by topic on 3.1.1', async () => {
    for (const version of [5, 4] as const) {
      const { host, router } = setup(version);
      const pending = router.subscribe(['t/#'], {});
      const packet = host.last('subscribe');
      router.onAck({ type: 'suback', packetId: packet.packetId, reasonCodes: [0] });
      const sub = await pending;
      const id = packet.properties?.subscriptionIdentifier;
      expect(id === undefined).toBe(version === 4);
      const { track, settled } = tracker();
      router.route(publish('t/1', 1, id === undefined ? undefined : [id]), track);
      const it = sub[Symbol.asyncIterator]();
      const m = await it.next();
      expect(m.value?.topic).toBe('t/1');
      expect(settled).toEqual([0]); // auto ack on read
    }
  });

  it('a PUBLISH nobody matches is held, then handed first to the Subscription that matches it', async () => {
    const { host, router } = setup(4);
    const { track, settled } = tracker();
    router.route(publish('held/1', 1), track);
    expect(settled).toEqual([]); // held unacknowledged
    const pending = router.subscribe(['held/+'], {});
    router.route(publish('held/2', 1), track); // before the SUBACK: routed to it already
    router.onAck({ type: 'suback', packetId: host.last('subscribe').packetId, reasonCodes: [1] });
    const it = (await pending)[Symbol.asyncIterator]();
    expect((await it.next()).value?.topic).toBe('held/1');
    expect((await it.next()).value?.topic).toBe('held/2');
  });

  it('QoS 0 beyond unroutedBufferSize is dropped and reported', () => {
    const { host, router } = setup(5, { unroutedBufferSize: 1 });
    const { track } = tracker();
    router.route(publish('n/1'), track);
    router.route(publish('n/2'), track);
    expect(host.errors).toEqual([expect.any(MqttMessageDroppedError)]);
  });

  it('QoS 1/2 held beyond receiveMaximum + receiveMaximumTolerance is a 0x93 protocol error', () => {
    const { router } = setup(5, { receiveMaximum: 1, receiveMaximumTolerance: 1 });
    const { track } = tracker();
    router.route(publish('q/1', 1), track);
    router.route(publish('q/2', 1), track);
    expect(() => router.route(publish('q/3', 1), track)).toThrow(expect.objectContaining({ reasonCode: 0x93 }));
  });

  it('a reconnect without session re-subscribes every filter with its identifier and drops held messages', async () => {
    const { host, ids, router } = setup();
    const pending = router.subscribe(['r/1'], { qos: 2 });
    const first = host.last('subscribe');
    router.onAck({ type: 'suback', packetId: first.packetId, reasonCodes: [2] });
    await pending;
    router.route(publish('nobody', 1), tracker().track);
    router.onConnected(false);
    const again = host.last('subscribe');
    expect(host.sent).toHaveLength(2);
    expect(ids.inUse).toBe(1); // the re-SUBSCRIBE waits for its SUBACK
    expect(again.subscriptions).toEqual([expect.objectContaining({ topicFilter: 'r/1', qos: 2 })]);
    expect(again.properties?.subscriptionIdentifier).toBe(first.properties?.subscriptionIdentifier);
    expect(host.errors).toEqual([expect.any(MqttMessageDroppedError)]); // the held message was dropped
  });

  it('unsubscribe() sends UNSUBSCRIBE only for filters no other Subscription holds', async () => {
    const { host, router } = setup();
    const subs = [];
    for (let i = 0; i < 2; i++) {
      const pending = router.subscribe(['u/a'], {});
      router.onAck({ type: 'suback', packetId: host.last('subscribe').packetId, reasonCodes: [0] });
      subs.push(await pending);
    }
    await subs[0]?.unsubscribe();
    expect(host.sent.filter((p) => p.type === 'unsubscribe')).toEqual([]);
    const done = subs[1]?.unsubscribe();
    const unsub = host.last('unsubscribe');
    expect(unsub.topicFilters).toEqual(['u/a']);
    router.onAck({ type: 'unsuback', packetId: unsub.packetId, reasonCodes: [0] });
    await done;
  });

  it('closeAll() ends every Subscription', async () => {
    const { host, router } = setup();
    const pending = router.subscribe(['c'], {});
    router.onAck({ type: 'suback', packetId: host.last('subscribe').packetId, reasonCodes: [0] });
    const it = (await pending)[Symbol.asyncIterator]();
    const next = it.next();
    router.closeAll();
    expect((await next).done).toBe(true);
  });
});
