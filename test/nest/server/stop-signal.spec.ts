import { describe, expect, it } from '@jest/globals';
import { StopSignal } from '../../../lib/nest/server/stop-signal.js';

describe('StopSignal', () => {
  it('resolves with the value, or with stop when stopped first or already', async () => {
    const signal = new StopSignal();
    await expect(signal.race(Promise.resolve(7))).resolves.toBe(7);
    const pending = signal.race(new Promise<number>(() => {}));
    signal.stop();
    await expect(pending).resolves.toBe('stop');
    await expect(signal.race(Promise.resolve(8))).resolves.toBe('stop');
    expect(signal.isStopped).toBe(true);
  });

  it('passes a rejection through', async () => {
    await expect(new StopSignal().race(Promise.reject(new Error('gone')))).rejects.toThrow('gone');
  });

  it('keeps nothing per settled wait (Promise.race on a long-lived promise would)', async () => {
    const signal = new StopSignal();
    for (let i = 0; i < 1_000; i++) await signal.race(Promise.resolve(i));
    expect((signal as unknown as { waiters: Set<unknown> }).waiters.size).toBe(0);
  });
});
