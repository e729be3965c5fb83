/** Bounds how many messages a subscription handles at once. */
export class Semaphore {
  private readonly waiters: Array<() => void> = [];
  constructor(private free: number) {}

  /** Takes a slot now if one is free. */
  tryAcquire(): boolean {
    if (this.free === 0) return false;
    this.free--;
    return true;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}
