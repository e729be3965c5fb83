import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { type Bounded, Deadlines } from '../../../lib/nest/client/deadlines.js';

/** An operation that records what happened to it. */
function op(name: string, log: string[]): Bounded {
  return {
    deadline: 0,
    slot: -1,
    expire: () => log.push(`expired ${name}`),
    abort: (err) => log.push(`aborted ${name}: ${String(err)}`),
  };
}

describe('Deadlines (the emits of a client, one time limit)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('expires what is still tracked when its time runs out, oldest first, and never what settled', () => {
    const log: string[] = [];
    const d = new Deadlines(1_000);
    const [a, b, c] = [op('a', log), op('b', log), op('c', log)];
    d.add(a);
    jest.advanceTimersByTime(500);
    d.add(b);
    d.add(c);
    d.remove(a);
    expect(d.size).toBe(2);
    jest.advanceTimersByTime(499);
    expect(log).toEqual([]);
    jest.advanceTimersByTime(1); // a's time: a settled, b and c have 500 ms left
    expect(log).toEqual([]);
    d.remove(c);
    jest.advanceTimersByTime(500);
    expect(log).toEqual(['expired b']);
    expect(d.size).toBe(0);
    d.remove(b); // settling after it expired changes nothing
    expect(d.size).toBe(0);
  });

  it('keeps a stuck oldest operation while thousands behind it settle, then expires only it', () => {
    const log: string[] = [];
    const d = new Deadlines(1_000);
    const stuck = op('stuck', log);
    d.add(stuck);
    for (let i = 0; i < 5_000; i++) {
      const o = op(`o${i}`, log);
      d.add(o);
      d.remove(o);
    }
    const last = op('last', log);
    d.add(last);
    expect(d.size).toBe(2);
    jest.advanceTimersByTime(1_000);
    expect(log).toEqual(['expired stuck', 'expired last']);
    expect(d.size).toBe(0);
  });

  it('drops settled operations in front of a live one and compacts its line (slots stay valid)', () => {
    const log: string[] = [];
    const d = new Deadlines(1_000);
    const ops = Array.from({ length: 3_000 }, (_, i) => op(`o${i}`, log));
    for (const o of ops) d.add(o);
    for (const o of ops.slice(0, 2_500)) d.remove(o); // front settles: compaction happens on the way
    d.remove(ops[2_700]!);
    expect(d.size).toBe(499);
    d.add(op('new', log));
    jest.advanceTimersByTime(1_000);
    expect(log).toHaveLength(500);
    expect(log).not.toContain('expired o2700');
    expect(log[0]).toBe('expired o2500');
    expect(log.at(-1)).toBe('expired new');
  });

  it('abortAll aborts every tracked operation once, oldest first, and stops its timer', () => {
    const log: string[] = [];
    const d = new Deadlines(1_000);
    const [a, b, c] = [op('a', log), op('b', log), op('c', log)];
    d.add(a);
    d.add(b);
    d.add(c);
    d.remove(b);
    d.abortAll(() => 'closed');
    expect(log).toEqual(['aborted a: closed', 'aborted c: closed']);
    expect(d.size).toBe(0);
    d.remove(a);
    jest.advanceTimersByTime(2_000);
    expect(log).toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('an operation added after the line emptied still gets its whole time limit', () => {
    const log: string[] = [];
    const d = new Deadlines(1_000);
    const a = op('a', log);
    d.add(a);
    d.remove(a);
    jest.advanceTimersByTime(600);
    d.add(op('b', log));
    jest.advanceTimersByTime(400); // the first timer fires: b has 600 ms left
    expect(log).toEqual([]);
    jest.advanceTimersByTime(599);
    expect(log).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(log).toEqual(['expired b']);
  });
});
