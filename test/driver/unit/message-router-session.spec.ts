/**
 * MessageRouter's inbound side and session changes without a network (message-router-fixture.ts): a PUBLISH for
 * several Subscriptions, duplicate copies, messages held for no Subscription (their bounds, who gets them, when
 * they are dropped) and re-subscribing after a reconnect. Each case pins a behaviour a mutation run showed
 * untested (docs/mutation.md).
 */
import { describe, expect, it } from '@jest/globals';
import { MqttDisconnectedError, MqttMessageDroppedError, MqttProtocolError } from '../../../lib/driver/errors.js';
import { publish, read, settled, setup, subscribed, tracker, trackLikeClient } from './message-router-fixture.js';

describe('MessageRouter inbound (no network)', () => {
  it('a PUBLISH two Subscriptions match is acknowledged once both have read it', async () => {
    const s = setup(4);
    const a = await subscribed(s, ['two/+']);
    const b = await subscribed(s, ['two/#']);
    const { track, holders, settled } = tracker();
    s.router.route(publish('two/1', 1), track);
    expect(holders).toEqual([2]);
    expect((await read(a))?.topic).toBe('two/1');
    expect(settled).toEqual([]);
    expect((await read(b))?.topic).toBe('two/1');
    expect(settled).toEqual([0]);
  });

  it('MQTT 5: the second copy of a message (overlapping filters) is acknowledged at once, not delivered', async () => {
    const s = setup(5);
    const sub = await subscribed(s, ['dup/+', 'dup/1']);
    const [idWild, idExact] = s.host.all('subscribe').map((p) => p.properties?.subscriptionIdentifier ?? 0);
    const { track, holders, settled } = tracker();
    // the Subscription takes the copy of its first matching filter (dup/+): the other is acknowledged at once
    s.router.route(publish('dup/1', 1, [idExact ?? 0]), track);
    expect(holders).toEqual([1]);
    expect(settled).toEqual([0]);
    s.router.route(publish('dup/1', 1, [idWild ?? 0]), track);
    expect(holders).toEqual([1, 1]);
    expect(settled).toEqual([0]); // delivered, waiting for the read
    expect((await read(sub))?.topic).toBe('dup/1');
    expect(settled).toEqual([0, 0]);
  });

  it('MQTT 5: a second copy of a QoS 0 message is dropped without an acknowledgement to send', async () => {
    const s = setup(5);
    const sub = await subscribed(s, ['dq/+', 'dq/1']);
    const [idWild, idExact] = s.host.all('subscribe').map((p) => p.properties?.subscriptionIdentifier ?? 0);
    s.router.route(publish('dq/1', 0, [idExact ?? 0]), trackLikeClient(0));
    s.router.route(publish('dq/1', 0, [idWild ?? 0]), trackLikeClient(0));
    expect((await read(sub))?.topic).toBe('dq/1');
  });

  it('MQTT 5: a PUBLISH with an empty identifier list is routed by topic', async () => {
    const s = setup(5);
    const sub = await subscribed(s, ['empty/+']);
    const { track, holders } = tracker();
    s.router.route(publish('empty/1', 1, []), track);
    expect(holders).toEqual([1]);
    expect((await read(sub))?.topic).toBe('empty/1');
  });

  it('held QoS 0 messages do not count toward the QoS 1/2 bound, nor QoS 1/2 toward unroutedBufferSize', () => {
    const { host, router } = setup(4, { receiveMaximum: 2, receiveMaximumTolerance: 0, unroutedBufferSize: 2 });
    const { track } = tracker();
    router.route(publish('h/0'), track);
    router.route(publish('h/1', 1), track);
    router.route(publish('h/2', 2), track);
    router.route(publish('h/3'), track);
    expect(host.errors).toEqual([]);
    expect(() => router.route(publish('h/4', 1), track)).toThrow(
      expect.objectContaining({ constructor: MqttProtocolError, reasonCode: 0x93 }),
    );
    router.route(publish('h/5'), track);
    expect(host.errors).toEqual([expect.any(MqttMessageDroppedError)]);
  });

  it('the QoS 1/2 bound defaults to receiveMaximum 65535 (+ the tolerance)', () => {
    const { router } = setup(4, { receiveMaximumTolerance: 1 });
    const { track } = tracker();
    const packet = publish('many', 1);
    for (let i = 0; i < 65536; i++) router.route(packet, track);
    expect(() => router.route(packet, track)).toThrow(expect.objectContaining({ reasonCode: 0x93 }));
  });

  it('a Subscription takes only the held messages it matches; the others stay held and are still counted', async () => {
    const s = setup(4, { unroutedBufferSize: 2 });
    const { track } = tracker();
    s.router.route(publish('x/1'), track);
    s.router.route(publish('y/1'), track);
    const x = await subscribed(s, ['x/+']);
    expect((await read(x))?.topic).toBe('x/1');
    s.router.route(publish('y/2'), track); // y/1 and y/2 held: the bound of 2 is reached
    expect(s.host.errors).toEqual([]);
    s.router.route(publish('y/3'), track);
    expect(s.host.errors).toEqual([expect.any(MqttMessageDroppedError)]);
    const y = await subscribed(s, ['y/+']);
    expect([(await read(y))?.topic, (await read(y))?.topic]).toEqual(['y/1', 'y/2']);
  });

  it('a Subscription of several filters takes the held messages of each', async () => {
    const s = setup(4);
    const { track } = tracker();
    for (const t of ['m/1', 'n', 'other']) s.router.route(publish(t, 1), track);
    const sub = await subscribed(s, ['m/+', 'n']);
    expect([(await read(sub))?.topic, (await read(sub))?.topic]).toEqual(['m/1', 'n']);
    const later = await subscribed(s, ['other']);
    expect((await read(later))?.topic).toBe('other');
  });

  it('QoS 1/2 messages still held after a Subscription took its own do not count toward the QoS 0 bound', async () => {
    const s = setup(4, { unroutedBufferSize: 1 });
    const { track } = tracker();
    s.router.route(publish('keep/1', 1), track);
    s.router.route(publish('take'), track);
    const sub = await subscribed(s, ['take']);
    expect((await read(sub))?.topic).toBe('take');
    s.router.route(publish('more'), track); // keep/1 is still held, but the QoS 0 bound of 1 is free
    expect(s.host.errors).toEqual([]);
  });

  it('held messages are handed over in arrival order, before what was routed to the Subscription since', async () => {
    const s = setup(4);
    const { track } = tracker();
    for (const t of ['o/1', 'o/2', 'o/3']) s.router.route(publish(t, 1), track);
    const sub = await subscribed(s, ['o/+']);
    s.router.route(publish('o/4', 1), track);
    const topics = [];
    for (let i = 0; i < 4; i++) topics.push((await read(sub))?.topic);
    expect(topics).toEqual(['o/1', 'o/2', 'o/3', 'o/4']);
  });

  it('a session not resumed drops the held messages once, reports how many, and frees their bound', async () => {
    const s = setup(4, { unroutedBufferSize: 1 });
    const { track } = tracker();
    s.router.route(publish('lost/1'), track);
    s.router.route(publish('lost/2', 1), track);
    s.router.onConnected(false);
    expect(s.host.errors).toEqual([expect.objectContaining({ constructor: MqttMessageDroppedError, count: 2 })]);
    s.router.onConnected(false); // nothing held any more: nothing to report
    s.router.route(publish('lost/3'), track); // the QoS 0 bound is free again
    expect(s.host.errors).toHaveLength(1);
    const sub = await subscribed(s, ['lost/+']);
    expect((await read(sub))?.topic).toBe('lost/3');
  });

  it('a resumed session keeps the held messages and re-sends only shared filters, with their options', async () => {
    const s = setup(5);
    await subscribed(s, ['plain/+']);
    await subscribed(s, ['$share/g/job'], { qos: 1 });
    await subscribed(s, ['$share/g/job'], { qos: 2 });
    const shareId = s.host.last('subscribe').properties?.subscriptionIdentifier;
    const { track } = tracker();
    s.router.route(publish('kept', 1), track);
    const before = s.host.sent.length;
    s.router.onConnected(true);
    const again = s.host.sent.slice(before);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({
      type: 'subscribe',
      subscriptions: [expect.objectContaining({ topicFilter: '$share/g/job', qos: 2 })],
      properties: { subscriptionIdentifier: shareId },
    });
    expect(s.host.errors).toEqual([]);
    const sub = await subscribed(s, ['kept']);
    expect((await read(sub))?.topic).toBe('kept');
  });

  it('re-SUBSCRIBEs cut by the link are made again on a "present" session, until one round succeeds', async () => {
    const s = setup(5); // one re-SUBSCRIBE per identifier
    await subscribed(s, ['re/a']);
    await subscribed(s, ['re/b']);
    s.router.onConnected(false);
    expect(s.host.sent).toHaveLength(4);
    s.router.onConnectionLost(); // before the SUBACKs
    await settled();
    expect(s.host.errors).toEqual([expect.any(MqttDisconnectedError), expect.any(MqttDisconnectedError)]);
    s.router.onConnected(true); // the broker kept a session it created, without our subscriptions
    const round = s.host.sent.slice(4);
    expect(round.map((p) => p.type === 'subscribe' && p.subscriptions[0]?.topicFilter)).toEqual(['re/a', 're/b']);
    for (const p of round) s.router.onAck({ type: 'suback', packetId: p.packetId, reasonCodes: [0] });
    await settled(); // the round's Promise.all
    s.router.onConnected(true);
    expect(s.host.sent).toHaveLength(6); // complete: a resumed session has them
  });

  it('a round with one failed re-SUBSCRIBE keeps the next "present" session re-subscribing', async () => {
    const s = setup(5);
    await subscribed(s, ['f/a']);
    await subscribed(s, ['f/b']);
    s.router.onConnected(false);
    const [a, b] = s.host.sent.slice(2);
    s.router.onAck({ type: 'suback', packetId: a?.packetId ?? 0, reasonCodes: [0] });
    s.router.onConnectionLost(); // b never answered
    await settled();
    expect(b?.type).toBe('subscribe');
    s.router.onConnected(true);
    expect(s.host.sent).toHaveLength(6);
  });

  it('a failed shared re-SUBSCRIBE on a resumed session does not make the next one re-send every filter', async () => {
    const s = setup(5);
    await subscribed(s, ['keep/+']);
    await subscribed(s, ['$share/g/work']);
    s.router.onConnected(true);
    expect(s.host.sent).toHaveLength(3); // the shared one only
    s.router.onConnectionLost(); // its SUBACK never came
    await settled();
    expect(s.host.errors).toEqual([expect.any(MqttDisconnectedError)]);
    s.router.onConnected(true);
    // the broker resumed the session both times: it has keep/+ (re-subscribing it would resend retained messages)
    expect(s.host.sent.slice(3).map((p) => p.type === 'subscribe' && p.subscriptions[0]?.topicFilter)).toEqual([
      '$share/g/work',
    ]);
  });

  it('closeAll() ends every Subscription, rejects pending SUBSCRIBEs and forgets held messages', async () => {
    const s = setup(4, { unroutedBufferSize: 1 });
    const { track } = tracker();
    s.router.route(publish('gone/1'), track);
    const pending = s.router.subscribe(['other'], {});
    s.router.closeAll();
    await expect(pending).rejects.toBeInstanceOf(MqttDisconnectedError);
    s.router.route(publish('gone/2'), track); // the bound is free again
    expect(s.host.errors).toEqual([]);
    const sub = await subscribed(s, ['gone/+']);
    expect((await read(sub))?.topic).toBe('gone/2');
  });
});
