import type { ReconnectOptions } from './types.js';

/** Delay in ms before reconnect attempt `attempt` (1-based): exponential, capped, with jitter. */
export function backoffDelay(attempt: number, o: ReconnectOptions = {}, random = Math.random): number {
  const base = Math.min((o.initialDelay ?? 100) * (o.factor ?? 2) ** (attempt - 1), o.maxDelay ?? 30_000);
  const jitter = Math.min(Math.max(o.jitter ?? 0.2, 0), 1);
  return Math.round(base * (1 - jitter * random()));
}
