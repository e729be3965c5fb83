/** Moved to `lib/nest/serialization` (one set of payload rules for client and server). */
export {
  decodePayloadOrThrow as decodePayload,
  type EncodedPayload,
  encodePayload,
  MqttAsyncPayloadError,
} from '../serialization/payload.js';
