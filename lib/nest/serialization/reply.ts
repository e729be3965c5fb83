import type { UserProperty } from '../../driver/index.js';
import {
  FLAG,
  REPLY_EMPTY_PROPERTY,
  REPLY_ERROR_PROPERTY,
  REPLY_MARKER_PROPERTY,
  REPLY_MORE_PROPERTY,
} from '../protocol.js';

/*
 * The MQTT 5 reply flags, in one place for the server (writes them), ClientMqttAsync and the in-memory broker's
 * request helper (read them). The rule that lets any MQTT 5 responder answer our requests: a reply WITHOUT our
 * flags is final. Only a streamed value that is not the last one is marked (`more`), so a plain responder's single
 * reply (mosquitto_rr, MQTT.js, another framework) completes the request at once.
 */

/** One reply of an RPC handler's result stream, as the server publishes it. */
export type ReplyPacket =
  | { kind: 'value'; response: unknown; final: boolean }
  | { kind: 'error'; err: unknown }
  | { kind: 'complete' };

/** What a received reply says about the request's stream. */
export interface ReplyFlags {
  /** No more replies follow for this request. */
  final: boolean;
  /** The payload is `{ "err": <error> }` (or the bare error): the handler failed. Always final. */
  error: boolean;
  /** A final reply without a value (an Observable completed after its last value had left). */
  empty: boolean;
}

// Frozen and shared: the driver only reads user properties, so each reply reuses these arrays (no allocation).
const MARKER: UserProperty = [REPLY_MARKER_PROPERTY, FLAG];
const FINAL_VALUE: readonly UserProperty[] = Object.freeze([MARKER]);
const MORE_VALUE: readonly UserProperty[] = Object.freeze([MARKER, [REPLY_MORE_PROPERTY, FLAG]]);
const ERROR: readonly UserProperty[] = Object.freeze([MARKER, [REPLY_ERROR_PROPERTY, FLAG]]);
const EMPTY: readonly UserProperty[] = Object.freeze([MARKER, [REPLY_EMPTY_PROPERTY, FLAG]]);

/**
 * The user properties of one native MQTT 5 reply: our marker (so servers never handle replies as requests), plus
 * `more` on a non-final value, `error` on an error, `empty` on a value-less completion. The array is shared: do
 * not modify it.
 */
export function encodeReplyFlags(packet: ReplyPacket): UserProperty[] {
  let flags: readonly UserProperty[];
  if (packet.kind === 'value') flags = packet.final ? FINAL_VALUE : MORE_VALUE;
  else if (packet.kind === 'error') flags = ERROR;
  else flags = EMPTY;
  return flags as UserProperty[];
}

/** Decodes the flags of a received MQTT 5 reply. Anything but our `more` flag ends the request. */
export function decodeReplyFlags(userProperties: Readonly<Record<string, string | string[]>>): ReplyFlags {
  const error = userProperties[REPLY_ERROR_PROPERTY] === FLAG;
  const final = error || userProperties[REPLY_MORE_PROPERTY] !== FLAG;
  return { final, error, empty: final && !error && userProperties[REPLY_EMPTY_PROPERTY] === FLAG };
}

/** True for a reply published by a nest-mqtt-async server (never routed into handlers as a request). */
export function isOwnReply(userProperties: Readonly<Record<string, string | string[]>>): boolean {
  return userProperties[REPLY_MARKER_PROPERTY] === FLAG;
}

/** The error a reply carries: `{ err }` unwrapped, anything else as it is. */
export function replyError(value: unknown): unknown {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && 'err' in value
    ? (value as { err: unknown }).err
    : value;
}
