import { afterEach, describe, expect, it, jest } from '@jest/globals';
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

/** A sequencer with a 1 s ack watch on fake timers; `reports` records 'topic age behind' per report. */
function watched(action: 'warn' | 'nack') {
  jest.useFakeTimers();
  const log: string[] = [];
  const reports: string[] = [];
  const seq = new AckSequencer(() => undefined, {
    timeout: 1000,
    action,
    report: (m, age, behind) => reports.push(`${m.topic} ${age} ${behind}`),
  });
  return { log, reports, seq };
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

describe('AckSequencer ack watch (ackTimeout / onAckTimeout)', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it("'warn' reports the oldest unsettled message once, with its age and the acks behind it, and keeps waiting", async () => {
    const { log, reports, seq } = watched('warn');
    const a = seq.enqueue(message('a', log));
    jest.advanceTimersByTime(400);
    const b = seq.enqueue(message('b', log));
    void b.ack();
    jest.advanceTimersByTime(599);
    expect(reports).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(reports).toEqual(['a 1000 1']);
    jest.advanceTimersByTime(10_000);
    expect(reports).toHaveLength(1);
    expect(log).toEqual([]);
    // The head settles late: both acks leave, and the next message is watched from its own receipt.
    await a.ack();
    expect(log).toEqual(['ack a', 'ack b']);
    seq.enqueue(message('c', log));
    jest.advanceTimersByTime(1000);
    expect(reports).toEqual(['a 1000 1', 'c 1000 0']);
  });

  it("'nack' settles the stuck message with 0x80 so the acks behind it leave; the next stuck one is next", () => {
    const { log, reports, seq } = watched('nack');
    seq.enqueue(message('a', log));
    const b = seq.enqueue(message('b', log));
    seq.enqueue(message('c', log));
    void b.ack();
    jest.advanceTimersByTime(1000);
    expect(reports).toEqual(['a 1000 2']);
    expect(log).toEqual(['nack a 128', 'ack b']);
    jest.advanceTimersByTime(1); // c is overdue already: reported on the next timer turn
    expect(reports).toEqual(['a 1000 2', 'c 1001 0']);
    expect(log).toEqual(['nack a 128', 'ack b', 'nack c 128']);
  });

  it('a message settled in time is never reported; dispose() stops the watch', () => {
    const { log, reports, seq } = watched('warn');
    void seq.enqueue(message('a', log)).ack();
    seq.enqueue(message('b', log));
    seq.dispose();
    jest.advanceTimersByTime(5000);
    expect(reports).toEqual([]);
  });
});

describe('AckSequencer edges (closing surviving mutants, docs/mutation.md)', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('settled turns true on the first ack/nack; the first outcome wins even before the ack can leave', async () => {
    const log: string[] = [];
    const seq = new AckSequencer(() => undefined);
    const a = seq.enqueue(message('a', log));
    const b = seq.enqueue(message('b', log));
    expect(b.settled).toBe(false);
    void b.nack(0x83);
    void b.ack();
    expect(b.settled).toBe(true);
    await a.ack();
    await b.sent;
    expect(log).toEqual(['ack a', 'nack b 131']);
  });

  it('sent, asked for before the ack could leave, resolves only once it was handed to the driver', async () => {
    const log: string[] = [];
    const seq = new AckSequencer(() => undefined);
    const a = seq.enqueue(message('a', log));
    const b = seq.enqueue(message('b', log));
    let bSent = false;
    const waiting = b.sent.then(() => {
      bSent = true;
    });
    expect(b.sent).toBe(b.sent); // one promise, however often asked
    void b.ack();
    // Let every pending reaction run: b's ack is still held behind a.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(bSent).toBe(false);
    expect(log).toEqual([]);
    await a.ack();
    await waiting;
    expect(bSent).toBe(true);
    expect(log).toEqual(['ack a', 'ack b']);
  });

  it('a new head is watched from its own receipt, not reported when the old head’s timer fires', async () => {
    const { log, reports, seq } = watched('warn');
    const a = seq.enqueue(message('a', log));
    jest.advanceTimersByTime(900);
    seq.enqueue(message('b', log));
    jest.advanceTimersByTime(50);
    await a.ack();
    jest.advanceTimersByTime(50); // a's timer fires: b is the head now, 100 ms old
    expect(reports).toEqual([]);
    jest.advanceTimersByTime(899);
    expect(reports).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(reports).toEqual(['b 1000 0']);
  });

  it("'warn' reports a stuck head once, also when more messages arrive behind it", () => {
    const { log, reports, seq } = watched('warn');
    seq.enqueue(message('a', log));
    jest.advanceTimersByTime(1000);
    expect(reports).toEqual(['a 1000 0']);
    void seq.enqueue(message('b', log)).ack();
    seq.enqueue(message('c', log));
    jest.advanceTimersByTime(5000);
    expect(reports).toEqual(['a 1000 0']);
    expect(seq.pending).toBe(3);
  });
});
