import { reasonCodeName } from './codec/reason-codes.js';

/** Base class of every error the driver hands out. */
export class MqttError extends Error {
  /** MQTT 5 reason code behind the error, when there is one. */
  readonly reasonCode?: number;

  constructor(message: string, options?: { reasonCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.reasonCode !== undefined) this.reasonCode = options.reasonCode;
  }
}

function withCode(message: string, reasonCode: number): string {
  return `${message} (reason code 0x${reasonCode.toString(16).padStart(2, '0')} ${reasonCodeName(reasonCode)})`;
}

/**
 * A peer broke the protocol: malformed bytes, a forbidden flag, a packet too large.
 * `reasonCode` is what a DISCONNECT should carry (0x81, 0x82, 0x95, ...).
 */
export class MqttProtocolError extends MqttError {
  declare readonly reasonCode: number;
  constructor(message: string, reasonCode: number, options?: { cause?: unknown }) {
    super(withCode(message, reasonCode), { reasonCode, cause: options?.cause });
  }
}

const V4_RETURN_CODES = [
  'Accepted',
  'Unacceptable protocol version',
  'Identifier rejected',
  'Server unavailable',
  'Bad user name or password',
  'Not authorized',
];

function withReturnCode(message: string, code: number): string {
  return `${message} (MQTT 3.1.1 return code ${code} ${V4_RETURN_CODES[code] ?? 'Unknown'})`;
}

/**
 * The broker refused the connection (CONNACK with a failure code) or it could not be established. On MQTT 3.1.1
 * (`protocolVersion: 4`) `reasonCode` is the CONNACK return code (1–5) and the message names it as such. A socket
 * or TLS failure carries its `code` (`ECONNREFUSED`, `ENOTFOUND`, `CERT_HAS_EXPIRED`, ...) on the error itself;
 * the original error is the `cause`.
 */
export class MqttConnectError extends MqttError {
  /** The socket or TLS error code behind the failure (`ECONNREFUSED`, `ENOTFOUND`, ...), when there is one. */
  readonly code?: string;

  constructor(
    message: string,
    options?: { reasonCode?: number; cause?: unknown; protocolVersion?: 4 | 5; code?: string },
  ) {
    const code = options?.reasonCode;
    super(
      code === undefined
        ? message
        : options?.protocolVersion === 4
          ? withReturnCode(message, code)
          : withCode(message, code),
      options,
    );
    if (options?.code !== undefined) this.code = options.code;
  }

  /**
   * The same failure with `context` (e.g. who was connecting to which redacted URL) before its message: still a
   * `MqttConnectError` with this one's `reasonCode` and `code`, and this one as `cause`.
   */
  withContext(context: string): MqttConnectError {
    const err = new MqttConnectError(`${context}: ${this.message}`, { cause: this, code: this.code });
    if (this.reasonCode !== undefined) Object.assign(err, { reasonCode: this.reasonCode });
    return err;
  }
}

/** The operation could not complete because the connection is gone (and was not, or cannot be, resumed). */
export class MqttDisconnectedError extends MqttError {}

/** An operation did not complete within its time limit. */
export class MqttTimeoutError extends MqttError {}

/** The broker refused one or more filters of a SUBSCRIBE (SUBACK code >= 0x80), or UNSUBSCRIBE failed. */
export class MqttSubscribeError extends MqttError {
  /** The SUBACK reason code of each requested filter, in request order. */
  readonly reasonCodes: readonly number[];
  constructor(message: string, reasonCodes: readonly number[], options?: { reasonCode?: number; cause?: unknown }) {
    super(message, { reasonCode: options?.reasonCode ?? reasonCodes.find((c) => c >= 0x80), cause: options?.cause });
    this.reasonCodes = reasonCodes;
  }
}

/**
 * A received message was dropped instead of delivered, reported on the client's `error` event (there is no caller
 * to reject): a QoS 0 message found its subscription's buffer full or matched no subscription beyond
 * `unroutedBufferSize`, or messages held for no subscription became void because the broker did not resume the
 * session. Consume faster, raise `bufferSize` / `unroutedBufferSize`, or use QoS 1 so the broker keeps them.
 */
export class MqttMessageDroppedError extends MqttError {
  /** How many messages this report covers. */
  readonly count: number;
  constructor(message: string, count = 1) {
    super(message);
    this.count = count;
  }
}

/**
 * `request()` refused locally: `maxPendingRequests` requests already wait for a reply (reason code 0x97, Quota
 * exceeded; nothing was sent). Await some of them first, or raise `maxPendingRequests`.
 */
export class MqttTooManyRequestsError extends MqttError {
  constructor(message: string) {
    super(withCode(message, 0x97), { reasonCode: 0x97 });
  }
}

/** The broker refused a publish (PUBACK/PUBREC with a code >= 0x80) or it was rejected locally before sending. */
export class MqttPublishError extends MqttError {
  constructor(message: string, options?: { reasonCode?: number; cause?: unknown }) {
    super(options?.reasonCode === undefined ? message : withCode(message, options.reasonCode), options);
  }
}

/** A topic name or filter is not valid MQTT; thrown before any I/O. */
export class MqttInvalidTopicError extends MqttError {
  constructor(message: string) {
    super(message, { reasonCode: 0x90 });
  }
}
