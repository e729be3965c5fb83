import type { Observable, Subscription } from 'rxjs';
import { MqttAsyncError } from '../errors.js';
import type { ReplyPacket } from '../serialization/reply.js';

export type { ReplyPacket } from '../serialization/reply.js';

/**
 * The final error a requester gets when `ServerMqttAsync.close()` ends the reply stream of its request (a handler
 * whose Observable had not completed, e.g. one that never does).
 */
export class MqttAsyncServerClosingError extends MqttAsyncError {
  constructor() {
    super('The server is closing: this reply stream was ended before it completed; retry the request');
  }
}

/**
 * Runs `onAbort` once when `signal` aborts, unless `done` came first; returns the function that marks it done.
 */
function onAbortUntilDone(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    queueMicrotask(onAbort);
    return () => undefined;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/**
 * Publishes the values of `result$` through `respond`, one at a time and in order. Completion marks the last
 * queued value final, or adds an empty final reply when the last value already left. Resolves once every reply
 * was handed to `respond` (a failed `respond` is reported to `onError` and does not stop the ones behind it).
 * When `closing` aborts first, the stream is unsubscribed and ends with a {@link MqttAsyncServerClosingError}
 * reply, so `close()` never waits for an Observable that does not complete.
 */
export function streamReplies(
  result$: Observable<unknown>,
  respond: (packet: ReplyPacket) => Promise<void>,
  onError: (err: unknown) => void,
  closing?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const queue: ReplyPacket[] = [];
    let draining = false;
    let ended = false;
    // Values emitted during subscribe() (a plain return value is `of(value)`) are sent right after it returns,
    // in the same tick as the request's ack, instead of one tick later: one socket write instead of two.
    let subscribing = true;
    const drain = async () => {
      while (queue.length > 0) {
        const packet = queue.shift()!;
        try {
          await respond(packet);
        } catch (err) {
          onError(err);
        }
      }
      draining = false;
      if (ended) resolve();
    };
    const push = (packet: ReplyPacket) => {
      const last = queue.at(-1);
      if (packet.kind === 'complete' && last?.kind === 'value') last.final = true;
      else queue.push(packet);
      if (!draining && !subscribing) {
        draining = true;
        process.nextTick(drain);
      }
    };
    let subscription: Subscription | undefined;
    const done = onAbortUntilDone(closing, () => {
      if (ended) return;
      ended = true;
      subscription?.unsubscribe();
      const err = new MqttAsyncServerClosingError();
      push({ kind: 'error', err: toRpcError(err) });
    });
    subscription = result$.subscribe({
      next: (response) => push({ kind: 'value', response, final: false }),
      error: (err) => {
        ended = true;
        done();
        push({ kind: 'error', err });
      },
      complete: () => {
        ended = true;
        done();
        push({ kind: 'complete' });
      },
    });
    if (ended) subscription.unsubscribe(); // aborted while subscribing
    subscribing = false;
    if (queue.length > 0 && !draining) {
      draining = true;
      void drain();
    }
  });
}

/**
 * Waits for an event handler's Observable result to complete; rejects with its error. When `closing` aborts
 * first, it is unsubscribed and resolves `'closed'`.
 */
export function settleObservable(result: Observable<unknown>, closing?: AbortSignal): Promise<void | 'closed'> {
  return new Promise<void | 'closed'>((resolve, reject) => {
    let subscription: Subscription | undefined;
    let settled = false;
    const done = onAbortUntilDone(closing, () => {
      if (settled) return;
      settled = true;
      subscription?.unsubscribe();
      resolve('closed');
    });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      done();
      fn();
    };
    subscription = result.subscribe({
      error: (err) => finish(() => reject(err)),
      complete: () => finish(resolve),
    });
    if (settled) subscription.unsubscribe();
  });
}

/** The error object a caller sees for a failure that did not pass through Nest's exception filters. */
export function toRpcError(err: unknown): unknown {
  if (err instanceof Error) return { status: 'error', message: err.message };
  return err;
}
