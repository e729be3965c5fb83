import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from '../../../lib/driver/backoff.js';
import { MqttDisconnectedError, MqttError, MqttPublishError } from '../../../lib/driver/errors.js';
import { InboundAcks } from '../../../lib/driver/session/inbound.js';
import { Outbound } from '../../../lib/driver/session/outbound.js';
import { PacketIds } from '../../../lib/driver/session/packet-ids.js';
import { pub } from './publish-fixture.js';

describe('PacketIds', () => {
  it('wraps at 65535 and skips ids in use', () => {
    const ids = new PacketIds();
    const first = ids.allocate();
    for (let i = 2; i <= 65535; i++) ids.release(ids.allocate());
    expect(first).toBe(1);
    expect(ids.allocate()).toBe(2);
    expect(() => {
      for (let i = 0; i < 65534; i++) ids.allocate();
    }).toThrow(MqttError);
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

describe('Outbound.resume(false): the broker lost the session', () => {
  type Sent = { type: string; topic?: string; dup?: boolean; packetId?: number };
  const recorder = () => {
    const sent: Sent[] = [];
    // Snapshot: the Outbound mutates its packets (packet ids) after writing them.
    const out = new Outbound((p) =>
      sent.push(p.type === 'publish' ? { type: p.type, topic: p.topic, dup: p.dup, packetId: p.packetId } : { ...p }),
    );
    return { sent, out };
  };

  it('resends everything as new, in order: no DUP, no PUBREL, fresh packet ids; stale acks do nothing; none lost', async () => {
    const { sent, out } = recorder();
    out.receiveMaximum = 3;
    const ps = [pub('a', 1), pub('b', 2), pub('c', 1), pub('d', 2), pub('e', 1)].map((p) => out.submit(p, true));
    expect(sent.map((p) => p.topic)).toEqual(['a', 'b', 'c']); // d, e wait for the window
    expect(out.onPubrec(2)).toBe(true); // b reached PUBREL stage
    const oldIds = sent.map((p) => p.packetId);
    // A first reconnect resumed the session (DUP resends), a second one did not.
    out.resume(true);
    expect(sent.slice(3)).toEqual([
      { type: 'publish', topic: 'a', dup: true, packetId: 1 },
      { type: 'pubrel', packetId: 2 },
      { type: 'publish', topic: 'c', dup: true, packetId: 3 },
    ]);
    sent.length = 0;
    out.resume(false);
    expect(sent.map(({ type, topic, dup }) => ({ type, topic, dup }))).toEqual([
      { type: 'publish', topic: 'a', dup: false },
      { type: 'publish', topic: 'b', dup: false },
      { type: 'publish', topic: 'c', dup: false },
    ]);
    const newIds = sent.map((p) => p.packetId as number);
    expect(new Set(newIds).size).toBe(3);
    for (const id of newIds) expect(oldIds).not.toContain(id);
    // Acks for the old ids belong to the lost session: they settle nothing.
    for (const id of oldIds) {
      out.onPuback(id as number);
      out.onPubcomp(id as number);
    }
    expect(out.size).toBe(5);
    expect(sent).toHaveLength(3);
    // Acknowledge the resends; the waiting d, e follow in order, nothing is lost.
    const [a, b, c] = newIds as [number, number, number];
    out.onPuback(a);
    expect(out.onPubrec(b)).toBe(true);
    out.onPubcomp(b);
    out.onPuback(c);
    expect(sent.slice(3).map((p) => p.topic)).toEqual(['d', 'e']);
    const [d, e] = sent.slice(3).map((p) => p.packetId as number) as [number, number];
    expect(out.onPubrec(d)).toBe(true);
    out.onPubcomp(d);
    out.onPuback(e);
    const results = await Promise.all(ps);
    expect(results.map((r) => r.packetId)).toEqual([a, b, c, d, e]);
    expect(out.size).toBe(0);
    expect(out.ids.inUse).toBe(0);
  });

  it('while offline (nothing pumped yet), queued publishes go out once, as new, on resume(false)', async () => {
    const { sent, out } = recorder();
    const ps = [out.submit(pub('x', 1), false), out.submit(pub('y', 2), false)];
    expect(sent).toEqual([]);
    out.resume(false);
    expect(sent.map(({ topic, dup }) => ({ topic, dup }))).toEqual([
      { topic: 'x', dup: false },
      { topic: 'y', dup: false },
    ]);
    out.onPuback(sent[0]?.packetId as number);
    out.onPubrec(sent[1]?.packetId as number);
    out.onPubcomp(sent[1]?.packetId as number);
    await expect(Promise.all(ps)).resolves.toHaveLength(2);
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
