import type { Deserializer, Serializer } from '@nestjs/microservices';
import type { MqttMessage } from '../../driver/index.js';
import { printable } from '../../driver/printable.js';
import { isNestWireReply, isNestWireRequest } from './nest-wire.js';
import { decodePayloadOrThrow, type EncodedPayload, encodePayload, MqttAsyncPayloadError } from './payload.js';
import { decodeReplyFlags, replyError } from './reply.js';

/*
 * Nest's serializer conventions on MQTT. A custom `serializer` receives the Nest packet and returns the payload
 * (a string, bytes, or a value encoded by the default rules); a custom `deserializer` receives the decoded payload
 * (plus `{ channel, message }`) and returns the Nest packet. Without them: in the Nest wire format the packet IS the
 * payload; natively on MQTT 5 the payload is the bare value and the envelope lives in MQTT 5 properties.
 */

/** What a server or client needs to know to apply the conventions. */
export interface PacketCodecOptions {
  serializer?: Serializer;
  deserializer?: Deserializer;
  /** The built-in Nest MQTT wire format (`{pattern,data,id}` / `{id,response,err,isDisposed}`). */
  nestWire: boolean;
}

/** Both wire formats' codec options for one set of (de)serializers, made once per client or server. */
export interface PacketCodecs {
  native: PacketCodecOptions;
  nest: PacketCodecOptions;
}

export function packetCodecs(options: { serializer?: Serializer; deserializer?: Deserializer }): PacketCodecs {
  const { serializer, deserializer } = options;
  return {
    native: { serializer, deserializer, nestWire: false },
    nest: { serializer, deserializer, nestWire: true },
  };
}

/** A request or event as the server's handlers see it. */
export interface DecodedRequest {
  data: unknown;
  /** Nest wire request id: reply on `<topic>/reply`. */
  id?: string;
  /** A Nest wire reply (ours or another server's) seen on a subscription: never handled. */
  isReply?: boolean;
}

/** A reply as the client sees it (Nest's `IncomingResponse`). */
export interface DecodedResponse {
  id?: string;
  response?: unknown;
  err?: unknown;
  isDisposed?: boolean;
}

/** Nest's `OutgoingResponse`. */
export interface ResponsePacket {
  id?: string;
  response?: unknown;
  err?: unknown;
  isDisposed: boolean;
}

/** Nest's `OutgoingRequest` / `OutgoingEvent` (`id` only on requests). */
export interface RequestPacket {
  pattern: string;
  data: unknown;
  id?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array);
}

function deserializerContext(message: MqttMessage) {
  return { channel: message.topic, message };
}

async function runDeserializer(deserializer: Deserializer, value: unknown, message: MqttMessage, shape: string) {
  const packet: unknown = await deserializer.deserialize(value, deserializerContext(message));
  if (!isObject(packet)) {
    throw new MqttAsyncPayloadError(
      `The custom deserializer returned ${packet === null ? 'null' : typeof packet} for '${printable(message.topic)}'; it must return ${shape}`,
    );
  }
  return packet;
}

/** True for a Promise or any other thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** A value now, or a Promise of it when a custom (possibly async) serializer or deserializer is involved. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Server side: payload → what handlers receive. A custom deserializer must return `{ pattern, data, id? }` (`id`
 * only matters in the Nest wire format). Nest wire replies are flagged, so a server never handles them.
 * Synchronous without a custom deserializer.
 * @throws MqttAsyncPayloadError for an undecodable payload or a deserializer that returned no packet
 */
export function decodeRequest(message: MqttMessage, options: PacketCodecOptions): MaybePromise<DecodedRequest> {
  const value = decodePayloadOrThrow(message);
  if (options.nestWire && message.topic.endsWith('/reply') && isNestWireReply(value)) {
    return { data: undefined, isReply: true };
  }
  if (options.deserializer) return deserializeRequest(options.deserializer, value, message, options.nestWire);
  if (options.nestWire && isNestWireRequest(value)) {
    return value.id === undefined ? { data: value.data } : { data: value.data, id: value.id };
  }
  return { data: value };
}

async function deserializeRequest(
  deserializer: Deserializer,
  value: unknown,
  message: MqttMessage,
  nestWire: boolean,
): Promise<DecodedRequest> {
  const packet = await runDeserializer(deserializer, value, message, '{ pattern, data, id? }');
  const id = nestWire && typeof packet.id === 'string' ? packet.id : undefined;
  return id === undefined ? { data: packet.data } : { data: packet.data, id };
}

/** Runs a custom serializer (sync or async) and encodes what it returns by the default rules. */
function serialize(serializer: Serializer, packet: unknown): MaybePromise<EncodedPayload> {
  const out: unknown = serializer.serialize(packet);
  return isPromiseLike(out) ? Promise.resolve(out).then(encodePayload) : encodePayload(out);
}

/** Server side: a reply packet → payload. Natively on MQTT 5 the payload is the value, or `{ err }` for an error. */
export function encodeResponse(packet: ResponsePacket, options: PacketCodecOptions): MaybePromise<EncodedPayload> {
  if (options.serializer) return serialize(options.serializer, packet);
  if (options.nestWire) return encodePayload(packet);
  if (packet.err !== undefined) return encodePayload({ err: packet.err });
  return encodePayload(packet.response);
}

/** Client side: a request or event packet → payload. Natively on MQTT 5 the payload is `data`. */
export function encodeRequest(packet: RequestPacket, options: PacketCodecOptions): MaybePromise<EncodedPayload> {
  if (options.serializer) return serialize(options.serializer, packet);
  if (options.nestWire) return encodePayload(packet);
  return encodePayload(packet.data);
}

/** MQTT 5 native replies: final/error/empty from the reply flags (a reply without them is final). */
function nativeResponse(value: unknown, message: MqttMessage): DecodedResponse {
  const flags = decodeReplyFlags(message.userProperties);
  if (flags.error) return { err: replyError(value), isDisposed: true };
  if (flags.empty) return { isDisposed: true };
  return { response: value, isDisposed: flags.final };
}

/**
 * Client side: reply payload → Nest's `IncomingResponse`. A custom deserializer returns `{ id?, response?, err?,
 * isDisposed? }`; natively on MQTT 5 the id is the Correlation Data and a missing `isDisposed` / `err` is taken from
 * the reply's flags. A foreign (non-Nest) payload on a Nest reply topic is a final response without id.
 * Synchronous without a custom deserializer.
 * @throws MqttAsyncPayloadError
 */
export function decodeResponse(message: MqttMessage, options: PacketCodecOptions): MaybePromise<DecodedResponse> {
  const value = decodePayloadOrThrow(message);
  if (!options.nestWire) {
    const id = message.properties?.correlationData?.toString();
    const native = nativeResponse(value, message);
    if (!options.deserializer) {
      native.id = id;
      return native;
    }
    return deserializeNativeResponse(options.deserializer, value, message, id, native);
  }
  if (options.deserializer) {
    return runDeserializer(options.deserializer, value, message, '{ id, response?, err?, isDisposed? }');
  }
  if (isNestWireReply(value)) return value as DecodedResponse;
  return { response: value, isDisposed: true };
}

async function deserializeNativeResponse(
  deserializer: Deserializer,
  value: unknown,
  message: MqttMessage,
  id: string | undefined,
  native: DecodedResponse,
): Promise<DecodedResponse> {
  const packet = await runDeserializer(deserializer, value, message, '{ response?, err?, isDisposed? }');
  return {
    id,
    response: packet.response,
    err: packet.err ?? native.err,
    isDisposed: (packet.isDisposed as boolean | undefined) ?? native.isDisposed,
  };
}
