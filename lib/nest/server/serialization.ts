import type { Deserializer, Serializer } from '@nestjs/microservices';
import type { MqttMessage } from '../../driver/index.js';
import { decodePayload, type EncodedPayload, encodePayload } from './payload.js';

/*
 * Local seam to the client colleague's lib/nest/serialization: swap these two functions for its exports once they
 * land, so client and server share one set of payload rules.
 */

/** Decodes a message's payload, then applies a custom Nest `Deserializer` (it receives the decoded value). */
export async function decodeIncoming(message: MqttMessage, deserializer?: Deserializer): Promise<unknown> {
  const value = decodePayload(message);
  if (!deserializer) return value;
  return deserializer.deserialize(value, { channel: message.topic, message });
}

/** Applies a custom Nest `Serializer` (its result is then encoded), else the default rules. */
export function encodeOutgoing(value: unknown, serializer?: Serializer): EncodedPayload {
  return encodePayload(serializer ? serializer.serialize(value) : value);
}
