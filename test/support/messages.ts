import type { ClientEvents, MqttDriverClient, MqttMessage, Subscription } from '../../lib/driver/index.js';
import { eventually } from './eventually.js';

/**
 * Reads `count` messages from a subscription. Rejects when they have not all arrived after `guardMs` — a guard
 * against hanging tests, not a timing assertion; keep it generous.
 */
export async function take(sub: Subscription, count: number, guardMs = 10_000): Promise<MqttMessage[]> {
  const got: MqttMessage[] = [];
  const it = sub[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`only ${got.length} of ${count} messages arrived within ${guardMs} ms`)),
      guardMs,
    );
  });
  try {
    while (got.length < count) {
      const r = await Promise.race([it.next(), guard]);
      if (r.done) throw new Error(`subscription ended after ${got.length} of ${count} messages`);
      got.push(r.value);
    }
    return got;
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects with a clear message when `promise` has not settled after `guardMs` (a hang guard, not a timing check). */
export async function settlesWithin<T>(promise: Promise<T>, guardMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${guardMs} ms`)), guardMs);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `predicate()` holds; rejects after `guardMs` (the shared `eventually`, this file's argument order). */
export function until(predicate: () => boolean, guardMs: number, what: string): Promise<void> {
  return eventually(predicate, what, guardMs, 20);
}

/** Resolves with the arguments of the next `event` of a driver client (the interface has on/off only). */
export function nextEvent<E extends keyof ClientEvents>(client: MqttDriverClient, event: E): Promise<ClientEvents[E]> {
  return new Promise((resolve) => {
    const listener = (...args: ClientEvents[E]) => {
      client.off(event, listener);
      resolve(args);
    };
    client.on(event, listener);
  });
}
