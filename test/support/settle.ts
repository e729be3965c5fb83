import { eventually } from './eventually.js';
/** How a promise settled, and after how many ms. */
export interface Settled<T> {
  value?: T;
  error?: unknown;
  ms: number;
}

/**
 * Waits for `promise` to settle, failing with `what` when it is still pending after `hangMs` — a hang detector,
 * not a timing target: pick a bound far above the expected time and far below the hang it guards against.
 */
export function settleWithin<T>(promise: Promise<T>, hangMs: number, what: string): Promise<Settled<T>> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: still pending after ${hangMs} ms`)), hangMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ value, ms: performance.now() - started });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ error, ms: performance.now() - started });
      },
    );
  });
}

/** Waits until `condition()` holds; throws after `timeoutMs` (the shared `eventually`, this file's argument order). */
export function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return eventually(condition, what, timeoutMs, 10);
}
