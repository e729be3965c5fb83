import type { WritePacket } from '@nestjs/microservices';
import { MqttAsyncError } from '../errors.js';

/** Default cap on the `send()` calls of one `ClientMqttAsync` waiting for their reply (`maxPendingRequests`). */
export const DEFAULT_MAX_PENDING_REQUESTS = 10_000;

/**
 * Thrown into a `send()` subscriber when `maxPendingRequests` requests already wait for their reply: nothing is
 * sent (reason code 0x97, Quota exceeded, as the driver's `request()`). Await some replies first, or raise the cap.
 */
export class MqttAsyncTooManyRequestsError extends MqttAsyncError {
  constructor(max: number) {
    super(
      `${max} send() calls already wait for a reply (maxPendingRequests): await some first or raise maxPendingRequests`,
      { reasonCode: 0x97 },
    );
  }
}

type Callback = (packet: WritePacket) => void;

interface Pending {
  pattern: string;
  callback: Callback;
  expiresAt: number;
  /** What the caller wants back at expiry (the client: how many links had dropped when the request was made). */
  mark: number;
}

/**
 * The `send()` calls waiting for their final reply, keyed by request id. Every request of a client has the same
 * timeout, so they expire in insertion order (a Map keeps it) and one timer, set for the oldest, serves them all
 * instead of a timer per request.
 */
export class PendingRequests {
  private readonly entries = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (pattern: string, timeoutMs: number, mark: number) => unknown,
    private readonly max = DEFAULT_MAX_PENDING_REQUESTS,
  ) {}

  /**
   * Registers a request; false (and `callback` gets {@link MqttAsyncTooManyRequestsError}) when `max` already wait:
   * each one holds its callback and observer, so an unbounded number is unbounded memory.
   */
  add(id: string, pattern: string, callback: Callback, mark = 0): boolean {
    if (this.entries.size >= this.max) {
      callback({ err: new MqttAsyncTooManyRequestsError(this.max), isDisposed: true });
      return false;
    }
    this.entries.set(id, { pattern, callback, expiresAt: Date.now() + this.timeoutMs, mark });
    if (!this.timer) this.arm(this.timeoutMs);
    return true;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Forwards a reply; an error or a final reply ends the request. Returns false for an unknown id. */
  deliver(id: string, packet: WritePacket): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    if (packet.err !== undefined || packet.isDisposed) this.entries.delete(id);
    entry.callback(packet);
    return true;
  }

  /** The request was torn down by its subscriber: no callback. */
  delete(id: string): void {
    this.entries.delete(id);
  }

  /** Ends every request with `err` (client closed). */
  failAll(err: () => unknown): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of all) entry.callback({ err: err(), isDisposed: true });
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(delay, 1));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) {
        this.arm(entry.expiresAt - now);
        return;
      }
      this.entries.delete(id);
      entry.callback({ err: this.onTimeout(entry.pattern, this.timeoutMs, entry.mark), isDisposed: true });
    }
  }
}
