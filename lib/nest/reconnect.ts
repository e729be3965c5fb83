import type { MqttClientOptions, ReconnectOptions } from '../driver/index.js';

/** Attempts of the first connection of `listen()` / `connect()` when the options set none: fail fast at startup. */
export const DEFAULT_CONNECT_ATTEMPTS = 3;
/** Cap in ms of the backoff between reconnect attempts: the service is back within seconds of the broker. */
export const DEFAULT_RECONNECT_MAX_DELAY = 5000;

/**
 * The reconnect policy of `ServerMqttAsync` and `ClientMqttAsync` (one place for both): the first connection
 * makes `connectAttempts` attempts (default `maxAttempts` when set, else {@link DEFAULT_CONNECT_ATTEMPTS}) and
 * then fails with an error naming the URL; once connected, reconnecting goes on forever (`maxAttempts` Infinity)
 * with exponential backoff from 100 ms, ×2, 20 % jitter, capped at {@link DEFAULT_RECONNECT_MAX_DELAY}. Whatever
 * the options give wins; `reconnect: false` stays off.
 */
export function resolveReconnect(reconnect: MqttClientOptions['reconnect']): false | ReconnectOptions {
  if (reconnect === false) return false;
  const given = reconnect ?? {};
  return {
    maxDelay: DEFAULT_RECONNECT_MAX_DELAY,
    maxAttempts: Number.POSITIVE_INFINITY,
    ...given,
    connectAttempts: given.connectAttempts ?? given.maxAttempts ?? DEFAULT_CONNECT_ATTEMPTS,
  };
}

/** True when a status change to `closed` means reconnecting stopped on its own (not a `close()` of ours). */
export function gaveUp(status: string, wasConnected: boolean, closing: boolean): boolean {
  return status === 'closed' && wasConnected && !closing;
}
