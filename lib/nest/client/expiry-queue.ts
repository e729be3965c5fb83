/**
 * Entries that all have the same time limit: they expire in insertion order (a Map keeps it), so one timer, set
 * for the oldest, serves them all instead of a timer per entry. Holds a client's waiting `send()`s and `emit()`s.
 */
export class ExpiryQueue<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    /** Called with an entry whose time ran out, after it was removed. */
    private readonly onExpire: (value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  set(key: K, value: V): void {
    this.entries.set(key, { value, expiresAt: Date.now() + this.timeoutMs });
    if (!this.timer) this.arm(this.timeoutMs);
  }

  get(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Removes every entry and returns them, oldest first; the timer stops. */
  clear(): V[] {
    const all = Array.from(this.entries.values(), (e) => e.value);
    this.entries.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    return all;
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
      this.onExpire(entry.value);
    }
  }
}
