/**
 * Wire conventions shared by `ServerMqttAsync` and `ClientMqttAsync` for MQTT 5 RPC replies (user properties on
 * the reply PUBLISH). A plain MQTT 5 requester can ignore them: the payload is the serialized return value. A reply
 * without them is final, so any MQTT 5 responder can answer a `ClientMqttAsync.send()` (see serialization/reply.ts).
 */

/** `'1'` on a reply whose payload is `{ "err": <error> }`: the handler failed. Always also final. */
export const REPLY_ERROR_PROPERTY = 'nest-mqtt-async:error';
/**
 * `'1'` on a streamed reply that is NOT the last one: more replies follow for the same request. A reply without it
 * (a single value, a plain MQTT 5 responder's answer) ends the request.
 */
export const REPLY_MORE_PROPERTY = 'nest-mqtt-async:more';
/**
 * @deprecated Not sent any more: a reply is final unless it carries {@link REPLY_MORE_PROPERTY}. Kept so code that
 * imports the name still compiles; a reply that carries it is final like any reply without `more`.
 */
export const REPLY_FINAL_PROPERTY = 'nest-mqtt-async:final';
/** `'1'` on a final reply that carries no value (an Observable completed after its last value was sent). */
export const REPLY_EMPTY_PROPERTY = 'nest-mqtt-async:empty';
/** `'1'` on every reply we publish, so a server never routes its own replies into handlers. */
export const REPLY_MARKER_PROPERTY = 'nest-mqtt-async:reply';
/** On dead-lettered messages: the error message, the original topic and the handler pattern. */
export const DEAD_LETTER_ERROR_PROPERTY = 'nest-mqtt-async:error-message';
export const DEAD_LETTER_TOPIC_PROPERTY = 'nest-mqtt-async:original-topic';
/** Value of the flags above. */
export const FLAG = '1';
/** Content Type of JSON payloads (MQTT 5). */
export const JSON_CONTENT_TYPE = 'application/json';
