import type { WritePacket } from '@nestjs/microservices';
import { MqttAsyncError } from '../errors.js';
import { ExpiryQueue } from './expiry-queue.js';

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
  /** What the caller wants back at expiry (the client: how many links had dropped when the request was made). */
  mark: number;
}

/**
 * The `send()` calls waiting for their final reply, keyed by request id. Every request of a client has the same
 * timeout, so one {@link ExpiryQueue} timer serves them all.
 */
export class PendingRequests {
  private readonly entries: ExpiryQueue<string, Pending>;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (pattern: string, timeoutMs: number, mark: number) => unknown,
    private readonly max = DEFAULT_MAX_PENDING_REQUESTS,
  ) {
    this.entries = new ExpiryQueue(timeoutMs, (entry) =>
      entry.callback({ err: this.onTimeout(entry.pattern, this.timeoutMs, entry.mark), isDisposed: true }),
    );
  }

  /**
   * Registers a request; false (and `callback` gets {@link MqttAsyncTooManyRequestsError}) when `max` already wait:
   * each one holds its callback and observer, so an unbounded number is unbounded memory.
   */
  add(id: string, pattern: string, callback: Callback, mark = 0): boolean {
    if (this.entries.size >= this.max) {
      callback({ err: new MqttAsyncTooManyRequestsError(this.max), isDisposed: true });
      return false;
    }
    this.entries.set(id, { pattern, callback, mark });
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
    for (const entry of this.entries.clear()) entry.callback({ err: err(), isDisposed: true });
  }
}
