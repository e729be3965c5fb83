import type { KeepaliveClock } from '../../../lib/driver/keepalive.js';

/** A clock whose time moves only when told; timers fire in due order, each at its due time. */
export class FakeClock implements KeepaliveClock {
  private time = 1_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Time passes by `ms`; every timer due meanwhile fires at its due time. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = end;
  }
  /** The event loop was blocked for `ms`: time passed and the timers due meanwhile fire only now, late. */
  stall(ms: number): void {
    this.time += ms;
    for (const t of this.timers.values()) if (t.at < this.time) t.at = this.time;
    this.advance(0);
  }
}
