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
/** On dead-lettered messages (docs/retries.md): the last error's message. */
export const DEAD_LETTER_ERROR_PROPERTY = 'nest-mqtt-async:error-message';
/** On dead-lettered messages: the topic the message was received on. */
export const DEAD_LETTER_TOPIC_PROPERTY = 'nest-mqtt-async:original-topic';
/** On dead-lettered messages: how many times the handler ran (`'0'`: it could not be decoded, no handler ran). */
export const DEAD_LETTER_ATTEMPTS_PROPERTY = 'nest-mqtt-async:attempts';
/** On dead-lettered messages: when the first and the last attempt failed (ISO 8601, UTC). */
export const DEAD_LETTER_FIRST_FAILURE_PROPERTY = 'nest-mqtt-async:first-failure';
export const DEAD_LETTER_LAST_FAILURE_PROPERTY = 'nest-mqtt-async:last-failure';
/** On dead-lettered messages of a handler: its pattern (`orders/{id}`). */
export const DEAD_LETTER_PATTERN_PROPERTY = 'nest-mqtt-async:pattern';
/** On dead-lettered messages: the original MQTT 5 Response Topic and Correlation Data (base64), when it had them. */
export const DEAD_LETTER_RESPONSE_TOPIC_PROPERTY = 'nest-mqtt-async:original-response-topic';
export const DEAD_LETTER_CORRELATION_DATA_PROPERTY = 'nest-mqtt-async:original-correlation-data';
/** On dead-lettered messages: the original Message Expiry Interval in seconds, when it had one. */
export const DEAD_LETTER_EXPIRY_PROPERTY = 'nest-mqtt-async:original-message-expiry-interval';
/** Value of the flags above. */
export const FLAG = '1';
/** Content Type of JSON payloads (MQTT 5). */
export const JSON_CONTENT_TYPE = 'application/json';
