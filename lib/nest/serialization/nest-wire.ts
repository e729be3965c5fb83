import {
  DEAD_LETTER_ATTEMPTS_PROPERTY,
  DEAD_LETTER_ERROR_PROPERTY,
  DEAD_LETTER_FIRST_FAILURE_PROPERTY,
  DEAD_LETTER_LAST_FAILURE_PROPERTY,
  DEAD_LETTER_PATTERN_PROPERTY,
  DEAD_LETTER_TOPIC_PROPERTY,
} from '../protocol.js';

/** The built-in Nest MQTT wire format (`ClientMqtt` / `ServerMqtt`), recognised only in its exact shape. */

/** `{ pattern, data, id? }` as sent by Nest's `ClientMqtt` (`id` present for `send()`, absent for `emit()`). */
export interface NestWireRequest {
  pattern: unknown;
  data: unknown;
  id?: string;
}

/**
 * W3C trace context fields we add to a 3.1.1 envelope (no user properties there); Nest's built-in transport
 * ignores them, and so does our decoder.
 */
export const ENVELOPE_TRACE_KEYS: readonly string[] = ['traceparent', 'tracestate', 'baggage'];

/** Keys a dead letter's 3.1.1 envelope gets (dead-letter.ts); a consumer of dead letters decodes it as usual. */
const DEAD_LETTER_KEYS = [
  DEAD_LETTER_ERROR_PROPERTY,
  DEAD_LETTER_TOPIC_PROPERTY,
  DEAD_LETTER_ATTEMPTS_PROPERTY,
  DEAD_LETTER_FIRST_FAILURE_PROPERTY,
  DEAD_LETTER_LAST_FAILURE_PROPERTY,
  DEAD_LETTER_PATTERN_PROPERTY,
];

const REQUEST_KEYS = new Set(['pattern', 'data', 'id', ...ENVELOPE_TRACE_KEYS, ...DEAD_LETTER_KEYS]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** True only for an object whose keys are exactly Nest's request keys, so foreign `data` keys survive. */
export function isNestWireRequest(value: unknown): value is NestWireRequest {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  if (!keys.includes('pattern') || !keys.every((k) => REQUEST_KEYS.has(k))) return false;
  return value.id === undefined || typeof value.id === 'string';
}

const REPLY_KEYS = new Set(['id', 'response', 'err', 'isDisposed', 'status']);

/** True for `{ id, response?, err?, isDisposed? }`: a Nest reply, never a request. */
export function isNestWireReply(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return typeof value.id === 'string' && !keys.includes('pattern') && keys.every((k) => REPLY_KEYS.has(k));
}

/** Nest's reply topic for a request topic. */
export function nestReplyTopic(topic: string): string {
  return `${topic}/reply`;
}
