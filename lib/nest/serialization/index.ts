export {
  type DecodedRequest,
  type DecodedResponse,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isPromiseLike,
  type MaybePromise,
  type PacketCodecOptions,
  type PacketCodecs,
  packetCodecs,
  type RequestPacket,
  type ResponsePacket,
} from './packets.js';
export {
  type DecodeResult,
  decodePayload,
  decodePayloadOrThrow,
  type EncodedPayload,
  encodePayload,
  MqttAsyncPayloadError,
  TEXT_CONTENT_TYPE,
} from './payload.js';
export {
  decodeReplyFlags,
  encodeReplyFlags,
  isOwnReply,
  type ReplyFlags,
  type ReplyPacket,
  replyError,
} from './reply.js';
