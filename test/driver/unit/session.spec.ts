import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from '../../../lib/driver/backoff.js';
import type { PublishPacket } from '../../../lib/driver/codec/packets.js';
import { MqttDisconnectedError, MqttPublishError } from '../../../lib/driver/errors.js';
import { InboundAcks } from '../../../lib/driver/session/inbound.js';
import { Outbound } from '../../../lib/driver/session/outbound.js';
import { PacketIds } from '../../../lib/driver/session/packet-ids.js';

const pub = (topic: string, qos: 1 | 2 = 1): PublishPacket => ({
  type: 'publish',
  topic,
  qos,
  retain: false,
  dup: false,
  payload: Buffer.alloc(0),
});

describe('PacketIds', () => {
  it('wraps at 65535 and skips ids in use', () => {
    const ids = new PacketIds();
    const first = ids.allocate();
    for (let i = 2; i <= 65535; i++) ids.release(ids.allocate());
    expect(first).toBe(1);
    expect(ids.allocate()).toBe(2);
    expect(() => {
      for (let i = 0; i < 65534; i++) ids.allocate();
    }).toThrow(RangeError);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, caps at maxDelay, jitter lowers it', () => {
    const o = { initialDelay: 100, factor: 2, maxDelay: 1000, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, o, () => 0))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(2, o, () => 1)).toBe(100);
  });
});

describe('Outbound', () => {
  it('keeps at most Receive Maximum in flight, sends the rest in order as acks arrive', async () => {
    const sent: string[] = [];
    const out = new Outbound((p) => sent.push(p.type === 'publish' ? p.topic : `rel${p.packetId}`));
    out.receiveMaximum = 2;
    const ps = ['a', 'b', 'c', 'd'].map((t) => out.submit(pub(t), true));
    expect(sent).toEqual(['a', 'b']);
    out.onPuback(1);
    expect(sent).toEqual(['a', 'b', 'c']);
    out.onPuback(2, 0x87);
    out.onPuback(3);
    out.onPuback(4);
    const r = await Promise.allSettled(ps);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((r[1] as PromiseRejectedResult).reason).toBeInstanceOf(MqttPublishError);
  });

  it('resends with DUP / PUBREL in order on session resume, rejects all on close', async () => {
    const sent: string[] = [];
    const out = new Outbound((p) =>
      sent.push(p.type === 'publish' ? `${p.topic}${p.dup ? '*' : ''}` : `rel${p.packetId}`),
    );
    const a = out.submit(pub('a', 2), true);
    const b = out.submit(pub('b', 2), true);
    expect(out.onPubrec(1)).toBe(true);
    sent.length = 0;
    out.resume(true);
    expect(sent).toEqual(['rel1', 'b*']);
    out.rejectAll('closed');
    await expect(a).rejects.toBeInstanceOf(MqttDisconnectedError);
    await expect(b).rejects.toBeInstanceOf(MqttDisconnectedError);
  });
});

describe('InboundAcks', () => {
  it('sends acks in receive order even when settled out of order', () => {
    const sent: number[] = [];
    const acks = new InboundAcks((_q, id) => sent.push(id));
    const e1 = acks.track(1, 1, 1);
    const e2 = acks.track(2, 2, 1);
    acks.settle(e2, 0);
    expect(sent).toEqual([]);
    acks.settle(e1, 0);
    expect(sent).toEqual([1, 2]);
    expect(acks.isDuplicateQos2(2)).toBe(true);
  });
});
