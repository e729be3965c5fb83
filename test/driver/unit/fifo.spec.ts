import { describe, expect, it } from '@jest/globals';
import { Fifo } from '../../../lib/driver/fifo.js';

describe('Fifo', () => {
  it('keeps order across compactions and interleaved push/shift', () => {
    const q = new Fifo<number>();
    const model: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) {
        q.push(next);
        model.push(next++);
      }
      for (let i = 0; i < 250; i++) expect(q.shift()).toBe(model.shift());
      expect(q.length).toBe(model.length);
      expect(q.peek()).toBe(model[0]);
    }
    expect([...q]).toEqual(model);
    expect(q.some((x) => x === model[model.length - 1])).toBe(true);
    expect(q.some((x) => x < 0)).toBe(false);
  });

  it('unshiftAll puts items in front in their order; shift on empty gives undefined', () => {
    const q = new Fifo<string>();
    expect(q.shift()).toBeUndefined();
    q.push('c');
    q.push('d');
    q.shift();
    q.unshiftAll(['a', 'b']);
    expect([...q]).toEqual(['a', 'b', 'd']);
    q.clear();
    expect(q.length).toBe(0);
    expect(q.peek()).toBeUndefined();
  });
});
