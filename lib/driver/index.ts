/**
 * nest-mqtt-async/driver: a zero-dependency async MQTT 5.0 / 3.1.1 client. `connect()` and what it returns, the
 * options and event types, the errors, topic helpers and reason codes. The packet codec is a separate entry,
 * `nest-mqtt-async/codec`; session internals (packet ids, backoff, the router) are not part of the API, and the
 * client is handed out as interfaces (`MqttClient`, `MqttDriverClient`), never as its class.
 */
export type {
  AckProperties,
  AllProperties,
  ConnackProperties,
  ConnectProperties,
  DisconnectProperties,
  ProtocolVersion,
  PublishProperties,
  QoS,
  RetainHandling,
  SubscribeProperties,
  UnsubscribeProperties,
  UserProperty,
  WillProperties,
} from './codec/packets.js';
export { isErrorReasonCode, ReasonCode, reasonCodeName } from './codec/reason-codes.js';
export { connect } from './connect.js';
export * from './errors.js';
export * from './topic.js';
export * from './types.js';
