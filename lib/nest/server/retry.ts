import { HttpException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { RetryPolicy } from '../routing/retry-options.js';
import { retryDelay } from '../routing/retry-options.js';
import type { Semaphore } from './semaphore.js';

/** Error objects made by `MqttAsyncNonRetryableError.getError()`: what the transport sees after Nest's filters. */
const nonRetryable = new WeakSet<object>();

/**
 * Throw it (or return it from a `ValidationPipe` `exceptionFactory`) to skip retries: the message is
 * dead-lettered and settled after this attempt. It is an `RpcException`, because Nest's exception filter replaces
 * any other error by "Internal server error" before the transport sees it; its `getError()` (what a requester
 * gets in the error reply) is `error` as given, an object `{ status: 'error', message }` for a string.
 */
export class MqttAsyncNonRetryableError extends RpcException {
  private readonly marked: object;

  constructor(error: string | object) {
    super(error);
    this.marked = typeof error === 'object' && error !== null ? error : { status: 'error', message: error };
    nonRetryable.add(this.marked);
  }

  override getError(): object {
    return this.marked;
  }
}

/** Nest's message for a guard that returned false (`FORBIDDEN_MESSAGE` of `@nestjs/core`). */
const FORBIDDEN_MESSAGE = 'Forbidden resource';

/**
 * The built-in retry rule: an error is retried unless it says the input or the caller is wrong, which another
 * try would not change. Not retried: `MqttAsyncNonRetryableError`; a 4xx `HttpException` or an error object with
 * a 4xx `statusCode` / `status` (a `BadRequestException` from `ValidationPipe` under `MqttAsyncExceptionFilter`);
 * an array of class-validator `ValidationError`s (`new RpcException(errors)`); a guard's refusal
 * (`Forbidden resource`). Everything else, including Nest's generic "Internal server error", is retried.
 */
export function retryableByDefault(err: unknown): boolean {
  if (isNonRetryable(err)) return false;
  if (err instanceof HttpException) return !isClientError(err.getStatus());
  if (typeof err !== 'object' || err === null) return true;
  if (Array.isArray(err)) return !err.some((e) => typeof e === 'object' && e !== null && 'constraints' in e);
  const e = err as { statusCode?: unknown; status?: unknown; message?: unknown };
  if (isClientError(e.statusCode) || isClientError(e.status)) return false;
  return !(e.status === 'error' && e.message === FORBIDDEN_MESSAGE);
}

function isNonRetryable(err: unknown): boolean {
  if (err instanceof MqttAsyncNonRetryableError) return true;
  return typeof err === 'object' && err !== null && nonRetryable.has(err);
}

function isClientError(status: unknown): boolean {
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The concurrency slot one message holds. A handler run waiting out a retry delay gives it back once every run
 * of the message waits or has finished, and takes one again (waiting for it like a new message) to retry: one
 * poison message does not hold a slot while it only waits.
 */
export class MessageSlot {
  /** Handler runs of this message not yet finished (set by the dispatcher when there are several). */
  runs = 1;
  private sleeping = 0;
  private held = true;
  private acquiring: Promise<void> | undefined;

  constructor(private readonly slots: Semaphore) {}

  /** A run starts waiting out a retry delay. */
  sleep(): void {
    this.sleeping++;
    this.releaseIfIdle();
  }

  /** A run's delay is over: resolves once the message holds a slot again. */
  wake(): Promise<void> | undefined {
    this.sleeping--;
    if (this.held) return undefined;
    this.acquiring ??= this.slots.acquire().then(() => {
      this.held = true;
      this.acquiring = undefined;
    });
    return this.acquiring;
  }

  /** A run finished (called only when the message has several). */
  runEnded(): void {
    this.runs--;
    this.releaseIfIdle();
  }

  /** The message is done: gives back the slot if it still holds one. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.slots.release();
  }

  private releaseIfIdle(): void {
    if (this.sleeping > 0 && this.sleeping >= this.runs) this.release();
  }
}

/** How a handler failed for good: the last error, how many tries, first and last failure (epoch ms). */
export interface HandlerFailure {
  error: unknown;
  attempts: number;
  firstFailure: number;
  lastFailure: number;
  /** The error was not retryable (it ended the retries early). */
  final?: boolean;
}

/** A failure of a handler that has no retries: one try. */
export function failedOnce(error: unknown): HandlerFailure {
  const now = Date.now();
  return { error, attempts: 1, firstFailure: now, lastFailure: now };
}

/** What the retry loop needs from the dispatcher. */
export interface RetryHooks {
  slot: MessageSlot | undefined;
  /** `close()` started: a delay ends at once, no further try. */
  closing: AbortSignal;
  /** True when no further try may run (a manual-ack handler settled the message). */
  settled(): boolean;
  /** Logs the failed try `attempt` that will be retried after `delay` ms. */
  retrying(err: unknown, attempt: number, delay: number): void;
}

/**
 * Runs `attempt` (1-based try number) until it resolves, the policy's attempts are used up or an error is not
 * retryable. Resolves undefined on success, the failure otherwise, or `'closed'` when `close()` ended a delay or
 * began before a retry (the message is left unacknowledged, for the broker to redeliver).
 */
export async function runWithRetries(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<void>,
  hooks: RetryHooks,
): Promise<HandlerFailure | 'closed' | undefined> {
  let firstFailure = 0;
  for (let n = 1; ; n++) {
    try {
      await attempt(n);
      return undefined;
    } catch (error) {
      const now = Date.now();
      if (n === 1) firstFailure = now;
      const failure: HandlerFailure = { error, attempts: n, firstFailure, lastFailure: now };
      if (n >= policy.attempts || hooks.settled()) return failure;
      if (!isRetryable(policy, error)) return { ...failure, final: true };
      if (hooks.closing.aborted) return 'closed';
      const delay = retryDelay(policy, n);
      hooks.retrying(error, n, delay);
      hooks.slot?.sleep();
      const slept = await sleep(delay, hooks.closing);
      if (!slept) return 'closed';
      await hooks.slot?.wake();
      if (hooks.closing.aborted) return 'closed';
    }
  }
}

function isRetryable(policy: RetryPolicy, err: unknown): boolean {
  if (isNonRetryable(err)) return false;
  if (!policy.retryable) return retryableByDefault(err);
  try {
    return policy.retryable(err) === true;
  } catch {
    return false; // a throwing predicate must not loop a message: treat its error as final
  }
}

/**
 * Waits `ms` on the global timers (so `jest.useFakeTimers()` controls retry delays); resolves false at once when
 * `signal` aborts.
 */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
