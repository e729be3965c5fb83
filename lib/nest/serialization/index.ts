import type { MqttMessage } from '../../driver/index.js';
import { JSON_CONTENT_TYPE } from '../protocol.js';
import { decodePayload as decodeOrThrow, type EncodedPayload } from '../server/payload.js';

export type { EncodedPayload } from '../server/payload.js';

/** Content Type announced for string payloads (MQTT 5). */
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** Result of {@link decodePayload}: never throws. */
export type DecodeResult = { ok: true; value: unknown } | { ok: false; error: Error };

/**
 * Decodes an incoming payload by Content Type when present, else JSON when it parses, else UTF-8 text, else bytes.
 * Never strips keys of the decoded value.
 */
export function decodePayload(message: MqttMessage): DecodeResult {
  try {
    return { ok: true, value: decodeOrThrow(message) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** Objects, numbers, booleans, null → JSON (`application/json`); strings → UTF-8 (`text/plain`); bytes untouched. */
export function encodePayload(value: unknown): EncodedPayload {
  if (value === undefined) return { payload: '' };
  if (typeof value === 'string') return { payload: value, contentType: TEXT_CONTENT_TYPE };
  if (value instanceof Uint8Array) return { payload: value };
  return { payload: JSON.stringify(value), contentType: JSON_CONTENT_TYPE };
}
