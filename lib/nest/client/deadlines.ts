import { ExpiryQueue } from './expiry-queue.js';

/** An operation tracked by {@link Deadlines}: told when its time ran out or when everything is aborted. */
export interface Bounded {
  expire(): void;
  abort(err: unknown): void;
}

/** Outstanding operations that all have the same time limit (the `emit()`s of a client), on one timer. */
export class Deadlines {
  private readonly queue: ExpiryQueue<number, Bounded>;
  private nextKey = 0;

  constructor(timeoutMs: number) {
    this.queue = new ExpiryQueue(timeoutMs, (op) => op.expire());
  }

  get size(): number {
    return this.queue.size;
  }

  /** Tracks `op` until `remove(key)` with the key returned (it settled) or its time runs out. */
  add(op: Bounded): number {
    const key = this.nextKey++;
    this.queue.set(key, op);
    return key;
  }

  /** Stops tracking the operation `add` returned `key` for. */
  remove(key: number): void {
    this.queue.delete(key);
  }

  /** Aborts every tracked operation with `err()`. */
  abortAll(err: () => unknown): void {
    for (const op of this.queue.clear()) op.abort(err());
  }
}
