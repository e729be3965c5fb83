import { describe, expect, it } from '@jest/globals';
import type { MqttMessage } from '../../../lib/driver/index.js';
import { AckSequencer } from '../../../lib/nest/server/ack-sequencer.js';

function message(id: string, log: string[]): MqttMessage {
  return {
    topic: id,
    payload: Buffer.alloc(0),
    qos: 1,
    retain: false,
    dup: false,
    properties: {},
    userProperties: {},
    ack: async () => {
      log.push(`ack ${id}`);
    },
    nack: async (code?: number) => {
      log.push(`nack ${id} ${code}`);
    },
  };
}

describe('AckSequencer', () => {
  it('releases acks in receive order whatever order handlers finish in, first outcome wins', async () => {
    const log: string[] = [];
    const seq = new AckSequencer(() => undefined);
    const a = seq.enqueue(message('a', log));
    const b = seq.enqueue(message('b', log));
    const c = seq.enqueue(message('c', log));
    void c.ack();
    void b.nack(0x83);
    expect(log).toEqual([]);
    expect(seq.pending).toBe(3);
    await a.ack();
    await c.sent;
    void b.ack();
    expect(log).toEqual(['ack a', 'nack b 131', 'ack c']);
    expect(seq.pending).toBe(0);
  });

  it('holds acks behind a message that is never acknowledged', () => {
    const log: string[] = [];
    const seq = new AckSequencer(() => undefined);
    const a = seq.enqueue(message('a', log));
    const b = seq.enqueue(message('b', log));
    void b.ack();
    expect(a.settled).toBe(false);
    expect(log).toEqual([]);
    expect(seq.pending).toBe(2);
  });
});
