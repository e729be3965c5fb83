import { EventEmitter } from 'node:events';
import type { ClientEvents } from './types.js';

/**
 * The `on()` / `off()` / `emit()` of a driver client (the network one and the in-memory one): typed by
 * `ClientEvents`; an `'error'` nobody listens to is dropped instead of crashing the process (EventEmitter's rule).
 */
export abstract class ClientEventSource {
  private readonly events = new EventEmitter();

  on<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): this {
    this.events.on(event, listener as (...a: unknown[]) => void);
    return this;
  }

  off<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): this {
    this.events.off(event, listener as (...a: unknown[]) => void);
    return this;
  }

  /** @internal Emits an event; an 'error' with no listener is dropped instead of crashing the process. */
  protected emit<E extends keyof ClientEvents>(event: E, ...args: ClientEvents[E]): void {
    if (event === 'error' && this.events.listenerCount('error') === 0) return;
    this.events.emit(event, ...args);
  }
}
