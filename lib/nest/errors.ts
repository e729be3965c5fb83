import { MqttConnectError, MqttError } from '../driver/errors.js';
import { redactUrl } from '../driver/transport/url.js';
import type { ClientStatus } from '../driver/types.js';

/**
 * Base class of every error the Nest layer (`ServerMqttAsync`, `ClientMqttAsync`, the in-memory broker) throws.
 * It extends the driver's {@link MqttError}, so `err instanceof MqttError` catches every error of this package;
 * `reasonCode` is set where an MQTT reason code is behind the error.
 */
export class MqttAsyncError extends MqttError {}

/** `listen()` refused a configuration; the message says what to change. */
export class MqttAsyncConfigError extends MqttAsyncError {}

/** Thrown into pending `send()` subscribers and unsettled `emit()`s by `ClientMqttAsync.close()`. */
export class MqttAsyncClientClosedError extends MqttAsyncError {
  constructor(message = 'ClientMqttAsync was closed before the reply arrived; retry after connect()') {
    super(message);
  }
}

/** `listen()` of a `ServerMqttAsync` that `close()` ended before it had connected and subscribed. */
export class MqttAsyncServerClosedError extends MqttAsyncError {
  constructor(message = 'ServerMqttAsync was closed before it had connected; call listen() again to start it') {
    super(message);
  }
}

/** Thrown into a `send()` subscriber when no final reply arrived within `requestTimeout` on a live connection. */
export class MqttAsyncRequestTimeoutError extends MqttAsyncError {
  constructor(pattern: string, timeout: number, reason?: string) {
    super(
      reason === undefined
        ? `No reply to '${pattern}' within ${timeout} ms; check that a server handles it, or raise requestTimeout`
        : `No reply to '${pattern}' within ${timeout} ms: ${reason}`,
    );
  }
}

/**
 * The client had no connection to the broker: a QoS 0 `emit()` while it was reconnecting (rejected at once), or a
 * `send()` / QoS 1-2 `emit()` whose bound ran out while it waited for the connection (nothing was sent).
 * `status` is the connection state at that moment (`reconnecting`, `disconnected`, `connecting`, `closed`).
 */
export class MqttAsyncNotConnectedError extends MqttAsyncError {
  constructor(
    readonly status: ClientStatus,
    message: string,
  ) {
    super(message);
  }
}

/** A QoS 1/2 `emit()` the broker did not confirm within `publishTimeout` (the connection was up when it expired). */
export class MqttAsyncPublishTimeoutError extends MqttAsyncError {}

/**
 * A connect failure of `who` (`ClientMqttAsync`, `ServerMqttAsync`) as the driver's typed error: a
 * `MqttConnectError` keeping the `reasonCode` of a broker refusal and the `code` (`ECONNREFUSED`, ...) of a socket
 * failure at its top level, its message naming the redacted URL. Other errors get the same context and keep any
 * `code` they have.
 */
export function connectFailure(who: string, url: string, err: unknown): MqttConnectError {
  const context = `${who} could not connect to ${redactUrl(url)}`;
  if (err instanceof MqttConnectError) return err.withContext(context);
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  const failure = new MqttConnectError(`${context}: ${message}`, {
    cause: err,
    code: typeof code === 'string' ? code : undefined,
  });
  const reasonCode = (err as { reasonCode?: unknown } | undefined)?.reasonCode;
  if (typeof reasonCode === 'number') Object.assign(failure, { reasonCode });
  return failure;
}
