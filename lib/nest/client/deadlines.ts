/** An operation tracked by {@link Deadlines}: told when its time ran out or when everything is aborted. */
export interface Bounded {
  expire(): void;
  abort(err: unknown): void;
}

/**
 * Outstanding operations that all have the same time limit (the `emit()`s of a client): they expire in insertion
 * order, so one timer, set for the oldest, serves them all instead of a timer per operation.
 */
export class Deadlines {
  private readonly entries = new Map<number, { op: Bounded; expiresAt: number }>();
  private nextKey = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Tracks `op` until the returned function is called (it settled) or its time runs out. */
  add(op: Bounded): () => void {
    const key = this.nextKey++;
    this.entries.set(key, { op, expiresAt: Date.now() + this.timeoutMs });
    if (!this.timer) this.arm(this.timeoutMs);
    return () => this.entries.delete(key);
  }

  /** Aborts every tracked operation with `err()`. */
  abortAll(err: () => unknown): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const { op } of all) op.abort(err());
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(delay, 1));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) {
        this.arm(entry.expiresAt - now);
        return;
      }
      this.entries.delete(key);
      entry.op.expire();
    }
  }
}
