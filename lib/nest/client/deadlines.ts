/**
 * An operation tracked by {@link Deadlines}: told when its time ran out or when everything is aborted. `deadline`
 * and `slot` are the tracker's bookkeeping, kept on the operation so tracking one allocates nothing.
 */
export interface Bounded {
  expire(): void;
  abort(err: unknown): void;
  /** @internal Epoch ms when its time runs out. */
  deadline: number;
  /** @internal Its place in the tracker's line; -1 when not tracked. */
  slot: number;
}

/**
 * Outstanding operations that all have the same time limit (the `emit()`s of a client), on one timer. They
 * expire in the order they were added, so the line is an array: an operation that settles leaves a hole (its
 * slot is cleared, nothing is retained), holes at the front are dropped, and the timer watches the oldest one.
 * Its length is bounded by the operations started within one time limit.
 */
export class Deadlines {
  private line: (Bounded | undefined)[] = [];
  /** Index in `line` of the oldest entry (holes before it were dropped). */
  private head = 0;
  /** Slot number of `line[0]`: slots stay valid while the front is dropped. */
  private base = 0;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.count;
  }

  /** Tracks `op` until `remove(op)` (it settled) or its time runs out (`op.expire()`). */
  add(op: Bounded): void {
    op.deadline = Date.now() + this.timeoutMs;
    op.slot = this.base + this.line.length;
    this.line.push(op);
    this.count++;
    if (!this.timer) this.arm(this.timeoutMs);
  }

  /** Stops tracking `op` (no-op when it is not tracked). */
  remove(op: Bounded): void {
    if (op.slot < 0) return;
    this.line[op.slot - this.base] = undefined;
    op.slot = -1;
    this.count--;
    this.dropSettledFront();
  }

  /** Aborts every tracked operation with `err()`, oldest first. */
  abortAll(err: () => unknown): void {
    const all = this.line.slice(this.head).filter((op): op is Bounded => op !== undefined);
    for (const op of all) op.slot = -1;
    this.reset();
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const op of all) op.abort(err());
  }

  private dropSettledFront(): void {
    while (this.head < this.line.length && this.line[this.head] === undefined) this.head++;
    if (this.head === this.line.length) {
      this.reset();
    } else if (this.head >= 1024 && this.head * 2 >= this.line.length) {
      // Compact now and then instead of shifting per operation.
      this.line = this.line.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  /** Empties the line. The timer stays: when it fires on an empty line it stops (no timer per emit). */
  private reset(): void {
    this.base += this.line.length;
    this.line = [];
    this.head = 0;
    this.count = 0;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(delay, 1));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.head < this.line.length) {
      const op = this.line[this.head];
      if (op !== undefined) {
        if (op.deadline > now) {
          this.arm(op.deadline - now);
          return;
        }
        this.line[this.head] = undefined;
        op.slot = -1;
        this.count--;
        op.expire();
      }
      this.head++;
    }
    this.reset();
  }
}
