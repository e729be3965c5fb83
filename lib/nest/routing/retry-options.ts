import { MqttAsyncConfigError } from '../errors.js';
import type { MqttAsyncRetryOptions } from '../options.js';

/** Retry options with defaults applied and checked. */
export interface RetryPolicy {
  attempts: number;
  delay: number;
  backoff: 'fixed' | 'exponential';
  maxDelay: number;
  jitter: boolean;
  /** Unset: the built-in rule (`retryableByDefault`). */
  retryable?: (err: unknown) => boolean;
}

/** Default `retry.delay` in ms. */
export const DEFAULT_RETRY_DELAY = 1000;
/** Default `retry.maxDelay` in ms (raised to `delay` when that is longer). */
export const DEFAULT_RETRY_MAX_DELAY = 30_000;
/** Most `retry.attempts`: with `maxDelay` at most an hour, a message is given up on within ~4 days at worst. */
export const MAX_RETRY_ATTEMPTS = 100;
/** Longest `retry.maxDelay` in ms (one hour; also far below setTimeout's 2^31 - 1 ms limit). */
export const MAX_RETRY_DELAY = 3_600_000;

const KEYS = new Set(['attempts', 'delay', 'backoff', 'maxDelay', 'jitter', 'retryable']);

/**
 * The retry policy of one handler: its own `retry`, else the server's `retry` (event handlers only), else none.
 * A `retry` on a `@MessagePattern` is refused: the caller waits for the reply and owns retries of its request
 * (it knows its `requestTimeout`; retrying here would answer after it gave up). @throws MqttAsyncConfigError
 */
export function resolveRetry(
  own: MqttAsyncRetryOptions | false | undefined,
  serverDefault: MqttAsyncRetryOptions | undefined,
  isEvent: boolean,
  where: string,
): RetryPolicy | undefined {
  if (own !== undefined && own !== false && !isEvent) {
    throw new MqttAsyncConfigError(
      `Invalid handler options on ${where}: retry applies to @EventPattern handlers only; a @MessagePattern ` +
        'caller gets the error reply at once and retries the request itself (e.g. rxjs retry())',
    );
  }
  if (own === false || !isEvent) return undefined;
  if (own !== undefined) return checkRetry(own, `Invalid handler options on ${where}: retry`);
  return serverDefault === undefined ? undefined : checkRetry(serverDefault, 'Invalid ServerMqttAsync option retry');
}

/** Checks `options` and applies the defaults; `what` starts the error message. @throws MqttAsyncConfigError */
export function checkRetry(options: MqttAsyncRetryOptions, what: string): RetryPolicy | undefined {
  const fail = (why: string): never => {
    throw new MqttAsyncConfigError(`${what}: ${why}`);
  };
  if (typeof options !== 'object' || options === null) fail(`must be an object { attempts, delay, ... } or false`);
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) fail(`unknown key '${key}'; the keys are ${[...KEYS].join(', ')}`);
  }
  const { attempts, backoff = 'exponential', jitter = false, retryable } = options;
  const delay = options.delay ?? DEFAULT_RETRY_DELAY;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > MAX_RETRY_ATTEMPTS) {
    fail(`attempts must be an integer from 1 to ${MAX_RETRY_ATTEMPTS} (tries in all, the first included)`);
  }
  if (!isMs(delay)) fail(`delay must be a number of ms from 0 to ${MAX_RETRY_DELAY}, got ${String(delay)}`);
  const maxDelay = options.maxDelay ?? Math.max(delay, DEFAULT_RETRY_MAX_DELAY);
  if (!isMs(maxDelay)) fail(`maxDelay must be a number of ms from 0 to ${MAX_RETRY_DELAY}, got ${String(maxDelay)}`);
  if (maxDelay < delay) fail(`maxDelay (${maxDelay}) is shorter than delay (${delay})`);
  if (backoff !== 'fixed' && backoff !== 'exponential') fail(`backoff must be 'fixed' or 'exponential'`);
  if (typeof jitter !== 'boolean') fail('jitter must be true or false');
  if (retryable !== undefined && typeof retryable !== 'function') fail('retryable must be a function (err) => boolean');
  if (attempts === 1) return undefined;
  const policy: RetryPolicy = { attempts, delay, backoff, maxDelay, jitter };
  if (retryable) policy.retryable = retryable;
  return policy;
}

function isMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_RETRY_DELAY;
}

/**
 * Milliseconds to wait after failed attempt number `failed` (1 = the first try failed): `delay`, doubled per
 * further failure with `'exponential'`, never above `maxDelay`; with `jitter`, a random time between half and all
 * of it. `random` is injectable for tests.
 */
export function retryDelay(policy: RetryPolicy, failed: number, random: () => number = Math.random): number {
  const base =
    policy.backoff === 'fixed' ? policy.delay : Math.min(policy.maxDelay, policy.delay * 2 ** Math.min(failed - 1, 40));
  const capped = Math.min(base, policy.maxDelay);
  return policy.jitter ? Math.round(capped / 2 + (random() * capped) / 2) : capped;
}
