import { describe, expect, it } from '@jest/globals';
import type { MqttMessage } from '../../../lib/driver/index.js';
import { consumeLoop } from '../../../lib/nest/server/consume-loop.js';
import { Semaphore } from '../../../lib/nest/server/semaphore.js';
import { StopSignal } from '../../../lib/nest/server/stop-signal.js';

/** An async iterator fed by hand; counts its next() calls. */
function feed() {
  const queued: IteratorResult<MqttMessage>[] = [];
  const waiting: Array<{ resolve: (r: IteratorResult<MqttMessage>) => void; reject: (e: unknown) => void }> = [];
  let nexts = 0;
  const deliver = (r: IteratorResult<MqttMessage>) => {
    const w = waiting.shift();
    if (w) w.resolve(r);
    else queued.push(r);
  };
  return {
    iterator: {
      next: () => {
        nexts++;
        const r = queued.shift();
        if (r) return Promise.resolve(r);
        return new Promise<IteratorResult<MqttMessage>>((resolve, reject) => waiting.push({ resolve, reject }));
      },
    } as AsyncIterator<MqttMessage>,
    push: (topic: string) => deliver({ value: { topic } as MqttMessage, done: false }),
    end: () => deliver({ value: undefined, done: true }),
    fail: (err: unknown) => waiting.shift()?.reject(err),
    get nexts() {
      return nexts;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('consumeLoop', () => {
  it('hands a message over only with a slot held (concurrency 1), message first', async () => {
    const f = feed();
    const slots = new Semaphore(1);
    const seen: string[] = [];
    void consumeLoop(f.iterator, slots, new StopSignal(), (m) => seen.push(m.topic));
    f.push('a');
    f.push('b');
    await tick();
    expect(seen).toEqual(['a']); // 'b' was read and waits for the slot
    slots.release();
    await tick();
    expect(seen).toEqual(['a', 'b']);
  });

  it('stop() ends it at once, waiting for a message or for a slot; a slot got after the stop is given back', async () => {
    const f = feed();
    const slots = new Semaphore(1);
    const stop = new StopSignal();
    const seen: string[] = [];
    const loop = consumeLoop(f.iterator, slots, stop, (m) => seen.push(m.topic));
    f.push('a');
    f.push('b');
    await tick();
    stop.stop();
    await loop;
    slots.release();
    await tick();
    expect(seen).toEqual(['a']);
    expect(slots.tryAcquire()).toBe(true);
    f.push('late');
    await tick();
    expect(seen).toEqual(['a']);
  });

  it('ends with the subscription, and rejects with the error of a failing next()', async () => {
    const ended = feed();
    const done = consumeLoop(ended.iterator, new Semaphore(1), new StopSignal(), () => undefined);
    ended.end();
    await expect(done).resolves.toBeUndefined();
    const failing = feed();
    const broken = consumeLoop(failing.iterator, new Semaphore(1), new StopSignal(), () => undefined);
    await tick();
    failing.fail(new Error('gone'));
    await expect(broken).rejects.toThrow('gone');
  });
});
