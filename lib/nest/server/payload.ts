import type { MqttMessage } from '../../driver/index.js';
import { JSON_CONTENT_TYPE } from '../protocol.js';

/** Thrown when an incoming payload cannot be decoded as its Content Type (or its shape) says. */
export class MqttAsyncPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MqttAsyncPayloadError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(payload: Buffer): string | undefined {
  try {
    return utf8.decode(payload);
  } catch {
    return undefined;
  }
}

function parseJson(source: string, topic: string): unknown {
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new MqttAsyncPayloadError(
      `Payload on '${topic}' is not valid JSON (${(err as Error).message}); send JSON or set a Content Type`,
    );
  }
}

/**
 * Decodes an incoming payload: by Content Type when present (JSON, `text/*`, else raw bytes); otherwise JSON when
 * it parses, else a UTF-8 string, else the bytes. Text that starts like a JSON object/array but does not parse is
 * an error rather than a silent string. An empty payload is `undefined`.
 * @throws MqttAsyncPayloadError
 */
export function decodePayload(message: MqttMessage): unknown {
  const { payload, topic } = message;
  const contentType = message.properties?.contentType?.toLowerCase();
  if (contentType !== undefined) {
    if (contentType.startsWith(JSON_CONTENT_TYPE) || contentType.endsWith('+json')) {
      const source = text(payload);
      if (source === undefined) throw new MqttAsyncPayloadError(`Payload on '${topic}' is not UTF-8 JSON`);
      return payload.length === 0 ? undefined : parseJson(source, topic);
    }
    if (contentType.startsWith('text/')) {
      const source = text(payload);
      if (source === undefined) throw new MqttAsyncPayloadError(`Payload on '${topic}' is not UTF-8 text`);
      return source;
    }
    return payload;
  }
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

/** An outgoing payload and the Content Type to announce (MQTT 5). */
export interface EncodedPayload {
  payload: Uint8Array | string;
  contentType?: string;
}

/** Objects and other JSON values → JSON; strings → UTF-8; bytes untouched; `undefined` → empty. */
export function encodePayload(value: unknown): EncodedPayload {
  if (value === undefined) return { payload: '' };
  if (typeof value === 'string') return { payload: value };
  if (value instanceof Uint8Array) return { payload: value };
  return { payload: JSON.stringify(value), contentType: JSON_CONTENT_TYPE };
}
