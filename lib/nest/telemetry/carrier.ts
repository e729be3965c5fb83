import type { MqttMessage, PublishOptions, UserProperty } from '../../driver/index.js';
import { ENVELOPE_TRACE_KEYS } from '../serialization/nest-wire.js';

/**
 * Where trace context travels in a message: the propagator's fields (W3C `traceparent`, `tracestate`, ...) as
 * MQTT 5 user properties; on MQTT 3.1.1 (no properties) as extra keys of our JSON wire envelope
 * (`{pattern,data,id}`), which Nest's built-in transport ignores. A payload that is not a JSON object (a custom
 * serializer, raw bytes) carries none on 3.1.1, and neither does a bare JSON payload (an event sent with
 * `nestWireFormat: false`): only an object with a `pattern` key is an envelope, so user data is never touched.
 * Only the W3C fields (`traceparent`, `tracestate`, `baggage`) go into an envelope: the only extra keys its
 * decoders accept.
 */
export type Fields = Record<string, string>;

/** Adds `fields` to an MQTT 5 publish's user properties (a new options object; the caller's is not changed). */
export function withUserProperties(options: PublishOptions | undefined, fields: Fields): PublishOptions {
  const extra: UserProperty[] = Object.entries(fields);
  const properties = options?.properties ?? {};
  const userProperties = properties.userProperties ? [...properties.userProperties, ...extra] : extra;
  return { ...options, properties: { ...properties, userProperties } };
}

const OPEN_BRACE = 0x7b;

/** The 3.1.1 envelope with `fields` added, or the payload as it was when it is not a JSON object. */
export function withEnvelopeFields(payload: Uint8Array | string, fields: Fields): Uint8Array | string {
  const text = typeof payload === 'string' ? payload : payload[0] === OPEN_BRACE ? Buffer.from(payload).toString() : '';
  if (!text.startsWith('{')) return payload;
  try {
    const envelope = JSON.parse(text) as Record<string, unknown>;
    if (!isEnvelope(envelope)) return payload;
    const carried: Fields = {};
    for (const key of ENVELOPE_TRACE_KEYS) if (fields[key] !== undefined) carried[key] = fields[key];
    return JSON.stringify({ ...envelope, ...carried });
  } catch {
    return payload;
  }
}

/** The propagator fields a received message carries (user properties, else a 3.1.1 envelope's string keys). */
export function fieldsOf(message: MqttMessage, keys: readonly string[], v4: boolean): Fields | undefined {
  if (!v4) {
    const props = message.userProperties;
    const found: Fields = {};
    let any = false;
    for (const key of keys) {
      const value = props[key];
      if (value === undefined) continue;
      found[key] = Array.isArray(value) ? value[0]! : value;
      any = true;
    }
    return any ? found : undefined;
  }
  if (message.payload[0] !== OPEN_BRACE) return undefined;
  try {
    const envelope = JSON.parse(message.payload.toString()) as Record<string, unknown>;
    if (!isEnvelope(envelope)) return undefined;
    const found: Fields = {};
    let any = false;
    for (const key of keys) {
      const value = envelope[key];
      if (typeof value !== 'string') continue;
      found[key] = value;
      any = true;
    }
    return any ? found : undefined;
  } catch {
    return undefined;
  }
}

function isEnvelope(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'pattern' in value;
}
