import type { MqttMessage } from '../../driver/index.js';
import { printable } from '../../driver/printable.js';
import { MqttAsyncError } from '../errors.js';
import { JSON_CONTENT_TYPE } from '../protocol.js';

/** Content Type announced for string payloads (MQTT 5). */
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** Thrown when an incoming payload cannot be decoded as its Content Type (or its shape) says. */
export class MqttAsyncPayloadError extends MqttAsyncError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** An outgoing payload and the Content Type to announce (MQTT 5). */
export interface EncodedPayload {
  payload: Uint8Array | string;
  contentType?: string;
}

/** Result of {@link decodePayload}: never throws. */
export type DecodeResult = { ok: true; value: unknown } | { ok: false; error: Error };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(payload: Uint8Array): string | undefined {
  try {
    return utf8.decode(payload);
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a JSON payload, without quoting it: V8's messages echo a slice of the input, which would put
 * attacker bytes into logs, error replies and dead-letter properties. Keeps only the position when given.
 */
function jsonProblem(err: unknown): string {
  const position = /position (\d+)/.exec(String((err as Error)?.message))?.[1];
  return position === undefined ? 'syntax error' : `syntax error at position ${position}`;
}

function parseJson(source: string, topic: string): unknown {
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new MqttAsyncPayloadError(
      `Payload on '${printable(topic)}' is not valid JSON (${jsonProblem(err)}); send JSON or set a Content Type`,
      { cause: err },
    );
  }
}

/** The media type of a Content Type, parameters dropped: `application/json; charset=utf-8` → `application/json`. */
function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim();
}

/** Exactly `application/json` or a `+json` suffix type: `application/jsonp-evil` is not JSON. */
function isJsonContentType(contentType: string): boolean {
  if (contentType === JSON_CONTENT_TYPE) return true; // what we send: no split per message
  const type = mediaType(contentType);
  return type === JSON_CONTENT_TYPE || type.endsWith('+json');
}

function decodeByContentType(payload: Buffer, topic: string, contentType: string): unknown {
  if (isJsonContentType(contentType)) {
    const source = text(payload);
    if (source === undefined) throw new MqttAsyncPayloadError(`Payload on '${printable(topic)}' is not UTF-8 JSON`);
    return payload.length === 0 ? undefined : parseJson(source, topic);
  }
  if (mediaType(contentType).startsWith('text/')) {
    const source = text(payload);
    if (source === undefined) throw new MqttAsyncPayloadError(`Payload on '${printable(topic)}' is not UTF-8 text`);
    return source;
  }
  return payload;
}

/**
 * Decodes an incoming payload: by Content Type when present (JSON, `text/*`, else the raw bytes); otherwise JSON
 * when it parses, else a UTF-8 string, else the bytes. Text that starts like a JSON object/array but does not parse
 * is an error rather than a silent string. An empty payload is `undefined`. Keys are never stripped: a `data` key
 * is data.
 * @throws MqttAsyncPayloadError
 */
export function decodePayloadOrThrow(message: Pick<MqttMessage, 'topic' | 'payload' | 'properties'>): unknown {
  const { payload, topic } = message;
  const contentType = message.properties?.contentType?.toLowerCase();
  if (contentType !== undefined) return decodeByContentType(payload, topic, contentType);
  if (payload.length === 0) return undefined;
  const source = text(payload);
  if (source === undefined) return payload;
  const first = source.trimStart()[0];
  if (first === '{' || first === '[') return parseJson(source, topic);
  try {
    return JSON.parse(source);
  } catch {
    return source;
  }
}

/** {@link decodePayloadOrThrow} as a result value: never throws. */
export function decodePayload(message: Pick<MqttMessage, 'topic' | 'payload' | 'properties'>): DecodeResult {
  try {
    return { ok: true, value: decodePayloadOrThrow(message) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/**
 * Objects, numbers, booleans and null → JSON (`application/json`); strings → UTF-8 (`text/plain; charset=utf-8`);
 * Buffer / Uint8Array → the bytes untouched, no Content Type; `undefined` → an empty payload.
 */
export function encodePayload(value: unknown): EncodedPayload {
  if (value === undefined) return { payload: '' };
  if (typeof value === 'string') return { payload: value, contentType: TEXT_CONTENT_TYPE };
  if (value instanceof Uint8Array) return { payload: value };
  return { payload: JSON.stringify(value), contentType: JSON_CONTENT_TYPE };
}
