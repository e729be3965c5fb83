/**
 * Outbound (lib/driver/session/outbound.ts) without a network: the local queue bound, re-checking queued
 * publishes against a new server's limits, and what each kind of acknowledgement does at each stage of a QoS 1/2
 * exchange. Each case pins a behaviour a mutation run showed untested (docs/mutation.md); session.spec.ts has
 * the flow-control and resume cases.
 */
import { describe, expect, it } from '@jest/globals';
import type { PublishPacket } from '../../../lib/driver/codec/packets.js';
import { MqttDisconnectedError, MqttPublishError } from '../../../lib/driver/errors.js';
import { Outbound } from '../../../lib/driver/session/outbound.js';
import { pub } from './publish-fixture.js';

/** An Outbound writing into `sent` (topics, and `rel<id>` for PUBREL). */
function recorder(recheck?: (p: PublishPacket) => void) {
  const sent: string[] = [];
  const out = new Outbound((p) => sent.push(p.type === 'publish' ? p.topic : `rel${p.packetId}`), recheck);
  return { sent, out };
}

describe('Outbound', () => {
  it('maxQueued bounds what waits beyond the window: one more is refused at once, in-flight ones not counted', async () => {
    const { sent, out } = recorder();
    out.receiveMaximum = 1;
    out.maxQueued = 2;
    const ok = [out.submit(pub('a'), true), out.submit(pub('b'), true), out.submit(pub('c'), true)];
    await expect(out.submit(pub('d'), true)).rejects.toBeInstanceOf(MqttPublishError);
    expect(sent).toEqual(['a']);
    expect(out.size).toBe(3);
    for (let id = 1; id <= 3; id++) out.onPuback(id);
    await expect(Promise.all(ok)).resolves.toHaveLength(3);
    expect(sent).toEqual(['a', 'b', 'c']);
  });

  it('a publish that waited across a reconnect is checked against the new limits once; a misfit is rejected, not sent', async () => {
    const checked: string[] = [];
    const { sent, out } = recorder((p) => {
      checked.push(p.topic);
      if (p.topic === 'too-big') throw new MqttPublishError('does not fit');
    });
    const waited = [out.submit(pub('fits'), false), out.submit(pub('too-big'), false)];
    out.limitsVersion++; // a CONNACK while they waited
    const fresh = out.submit(pub('new'), false); // submitted under the new limits: already checked
    out.receiveMaximum = 1;
    out.pump();
    expect(checked).toEqual(['fits']);
    expect(sent).toEqual(['fits']);
    out.onPuback(1);
    await expect(waited[1]).rejects.toThrow('does not fit');
    expect(checked).toEqual(['fits', 'too-big']);
    expect(sent).toEqual(['fits', 'new']);
    out.onPuback(2);
    await expect(Promise.all([waited[0], fresh])).resolves.toHaveLength(2);
    expect(out.ids.inUse).toBe(0);
  });

  it('PUBACK: 0x80 and above reject, a success code (0x10) resolves with its code and properties', async () => {
    const { out } = recorder();
    const refused = out.submit(pub('r'), true);
    const accepted = out.submit(pub('s'), true);
    out.onPuback(1, 0x80);
    out.onPuback(2, 0x10, { reasonString: 'no subscribers' });
    await expect(refused).rejects.toMatchObject({ constructor: MqttPublishError, reasonCode: 0x80 });
    await expect(accepted).resolves.toEqual({
      packetId: 2,
      reasonCode: 0x10,
      properties: { reasonString: 'no subscribers' },
    });
  });

  it('PUBACK for a QoS 2 publish (RabbitMQ) rejects it and frees its id for the next', async () => {
    const { sent, out } = recorder();
    out.receiveMaximum = 1;
    const two = out.submit(pub('q2', 2), true);
    const next = out.submit(pub('next'), true);
    out.onPuback(1);
    await expect(two).rejects.toBeInstanceOf(MqttPublishError);
    expect(sent).toEqual(['q2', 'next']);
    out.onPuback(2);
    await expect(next).resolves.toMatchObject({ packetId: 2 });
  });

  it('acks out of stage are ignored: PUBREC for QoS 1, PUBACK after PUBREC, PUBCOMP before PUBREC, unknown ids', async () => {
    const { out } = recorder();
    const one = out.submit(pub('one', 1), true);
    const two = out.submit(pub('two', 2), true);
    const outcome = Promise.allSettled([one, two]); // observed now: a wrong early rejection fails the test, not the run
    expect(out.onPubrec(1)).toBe(false);
    expect(out.onPubrec(9)).toBe(false);
    out.onPubcomp(2); // before PUBREC
    out.onPubcomp(9);
    out.onPuback(9);
    expect(out.size).toBe(2);
    expect(out.onPubrec(2, 0, { reasonString: 'rec' })).toBe(true);
    out.onPuback(2); // a PUBACK for an id at PUBREL stage
    expect(out.size).toBe(2);
    out.onPuback(1);
    out.onPubcomp(2);
    // PUBCOMP resolves with what the PUBREC said (PUBCOMP's own code is about the id, not the message)
    expect(await outcome).toEqual([
      { status: 'fulfilled', value: { packetId: 1, reasonCode: 0, properties: undefined } },
      { status: 'fulfilled', value: { packetId: 2, reasonCode: 0, properties: { reasonString: 'rec' } } },
    ]);
    expect(out.size).toBe(0);
  });

  it('PUBREC with 0x80 rejects the QoS 2 publish, asks for no PUBREL and frees its id', async () => {
    const { sent, out } = recorder();
    out.receiveMaximum = 1;
    const two = out.submit(pub('q2', 2), true);
    const next = out.submit(pub('next'), true);
    expect(out.onPubrec(1, 0x80)).toBe(false);
    await expect(two).rejects.toMatchObject({ constructor: MqttPublishError, reasonCode: 0x80 });
    expect(sent).toEqual(['q2', 'next']);
    out.onPubcomp(1); // nothing to complete: no PUBREL was asked for
    out.onPuback(2);
    await expect(next).resolves.toMatchObject({ packetId: 2 });
  });

  it('rejectAll() rejects in-flight and waiting publishes alike and frees every id', async () => {
    const { out } = recorder();
    out.receiveMaximum = 2;
    const all = ['a', 'b', 'c'].map((t) => out.submit(pub(t), true));
    expect(out.ids.inUse).toBe(2);
    out.rejectAll('closed');
    for (const p of all) await expect(p).rejects.toBeInstanceOf(MqttDisconnectedError);
    expect(out.ids.inUse).toBe(0);
    expect(out.size).toBe(0);
  });
});
