import type { Observable } from 'rxjs';
import type { ReplyPacket } from '../serialization/reply.js';

export type { ReplyPacket } from '../serialization/reply.js';

/**
 * Publishes the values of `result$` through `respond`, one at a time and in order. Completion marks the last
 * queued value final, or adds an empty final reply when the last value already left. Resolves once every reply
 * was handed to `respond` (a failed `respond` is reported to `onError` and does not stop the ones behind it).
 */
export function streamReplies(
  result$: Observable<unknown>,
  respond: (packet: ReplyPacket) => Promise<void>,
  onError: (err: unknown) => void,
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
    result$.subscribe({
      next: (response) => push({ kind: 'value', response, final: false }),
      error: (err) => {
        ended = true;
        push({ kind: 'error', err });
      },
      complete: () => {
        ended = true;
        push({ kind: 'complete' });
      },
    });
    subscribing = false;
    if (queue.length > 0 && !draining) {
      draining = true;
      void drain();
    }
  });
}

/** Waits for an event handler's Observable result to complete; rejects with its error. */
export function settleObservable(result: Observable<unknown>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    result.subscribe({ error: reject, complete: resolve });
  });
}

/** The error object a caller sees for a failure that did not pass through Nest's exception filters. */
export function toRpcError(err: unknown): unknown {
  if (err instanceof Error) return { status: 'error', message: err.message };
  return err;
}
