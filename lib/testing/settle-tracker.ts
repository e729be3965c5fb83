import { MqttTimeoutError } from '../driver/index.js';
import type { MemoryClient } from './memory-client.js';
import type { MemoryMessage } from './memory-message.js';
import { realTimers } from './real-timers.js';

const nextTurn = () => new Promise<void>((resolve) => realTimers.setImmediate(resolve));

/**
 * Knows which messages delivered to observed servers have not been handled yet, so `publish()` can resolve
 * once the broker is quiet: nothing delivered is unhandled, and nothing new arrived during one event-loop turn
 * (which catches messages that handlers publish in turn).
 */
export class SettleTracker {
  private readonly pending = new Map<MemoryMessage, MemoryClient>();
  private epoch = 0;
  private readonly wakers = new Set<() => void>();

  delivered(client: MemoryClient, message: MemoryMessage): void {
    this.pending.set(message, client);
    this.epoch++;
    this.notify();
  }

  /** A published message (delivered or not) changes the picture too. */
  touched(): void {
    this.epoch++;
    this.notify();
  }

  handled(message: MemoryMessage): void {
    if (this.pending.delete(message)) this.notify();
  }

  clientClosed(client: MemoryClient): void {
    for (const [m, c] of this.pending) if (c === client) this.pending.delete(m);
    this.notify();
  }

  private notify(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const wake of wakers) wake();
  }

  private changed(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.wakers.add(wake);
    return { promise, cancel: () => this.wakers.delete(wake) };
  }

  /** Resolves when every observed delivery was handled; rejects with `MqttTimeoutError` after `timeout` ms. */
  async idle(timeout: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = realTimers.setTimeout(() => resolve('timeout'), timeout);
    });
    try {
      for (;;) {
        if (this.pending.size > 0) {
          const change = this.changed();
          const outcome = await Promise.race([change.promise, expired]);
          change.cancel();
          if (outcome === 'timeout') throw this.timeoutError(timeout);
          continue;
        }
        const epoch = this.epoch;
        await nextTurn();
        if (this.pending.size === 0 && this.epoch === epoch) return;
      }
    } finally {
      realTimers.clearTimeout(timer);
    }
  }

  private timeoutError(timeout: number): MqttTimeoutError {
    const topics = [...new Set([...this.pending.keys()].map((m) => m.topic))].slice(0, 5);
    return new MqttTimeoutError(
      `${this.pending.size} delivered message(s) still not handled after ${timeout} ms (topics: ${topics.join(', ')}); ` +
        'a handler is hanging or a concurrency slot never frees. Raise settleTimeout if handlers are just slow',
    );
  }
}
