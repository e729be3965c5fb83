/**
 * Lets a consume loop wait for "the next thing or stop". `Promise.race([next, stop])` on one long-lived stop
 * promise leaves a reaction on it per call until it settles — two per received message, kept for the server's
 * whole life (a leak that also made garbage collection a quarter of the CPU time under load). Here each wait
 * registers itself and is removed when it settles.
 */
export class StopSignal {
  private stopped = false;
  private readonly waiters = new Set<() => void>();

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Calls `wake` once on `stop()` (a consume loop's one long-lived registration, not one per message); returns
   * the function that unregisters it.
   */
  onStop(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  stop(): void {
    this.stopped = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves with `promise`'s value, or with 'stop' when `stop()` is called first (or was already). */
  race<T>(promise: Promise<T>): Promise<T | 'stop'> {
    if (this.stopped) return Promise.resolve('stop');
    return new Promise<T | 'stop'>((resolve, reject) => {
      const wake = () => resolve('stop');
      this.waiters.add(wake);
      promise.then(
        (value) => {
          this.waiters.delete(wake);
          resolve(value);
        },
        (err: unknown) => {
          this.waiters.delete(wake);
          reject(err);
        },
      );
    });
  }
}
