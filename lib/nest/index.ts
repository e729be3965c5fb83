/** nest-mqtt-async: a NestJS microservice transport for MQTT 5.0 and 3.1.1. */

export * from './asyncapi/index.js';
export * from './client/index.js';
export {
  MqttAsyncContext,
  type MqttAsyncContextArgs,
  type MqttAsyncPacket,
  type MqttAsyncPacketProperties,
} from './context/mqtt-async.context.js';
export { TopicParam } from './decorators/topic-param.decorator.js';
export {
  MqttAsyncClientClosedError,
  MqttAsyncError,
  MqttAsyncNotConnectedError,
  MqttAsyncPublishTimeoutError,
  MqttAsyncRequestTimeoutError,
  MqttAsyncServerClosedError,
} from './errors.js';
export {
  DEFAULT_HEALTH_TIMEOUT,
  MqttAsyncHealthIndicator,
  type MqttAsyncHealthOptions,
  type MqttAsyncHealthResult,
} from './health/health.indicator.js';
export { DEFAULT_MAXIMUM_PACKET_SIZE } from './limits.js';
export type {
  HandlerAckMode,
  MqttAsyncClientOptions,
  MqttAsyncHandlerOptions,
  MqttAsyncRetryOptions,
  MqttAsyncServerOptions,
  MqttAsyncTransportOptions,
} from './options.js';
export * from './protocol.js';
export { DEFAULT_CONNECT_ATTEMPTS, DEFAULT_RECONNECT_MAX_DELAY } from './reconnect.js';
export * from './record/index.js';
export { mqttOptions } from './routing/handler-options.js';
export { MqttAsyncPatternError } from './routing/pattern.js';
export {
  type DecodedResponse,
  type DecodeResult,
  decodePayload as decodeMqttPayload,
  decodeReplyFlags,
  type EncodedPayload,
  encodePayload as encodeMqttPayload,
  encodeReplyFlags,
  MqttAsyncPayloadError,
  type ReplyFlags,
  type ReplyPacket,
  type RequestPacket,
  type ResponsePacket,
  TEXT_CONTENT_TYPE,
} from './serialization/index.js';
export { MqttAsyncConfigError } from './server/dead-letter.js';
export { MqttAsyncExceptionFilter } from './server/exception-filter.js';
export { MqttAsyncPublisher, type MqttAsyncPublishTarget } from './server/publisher.js';
export { type MqttAsyncPublisherAsyncOptions, MqttAsyncPublisherModule } from './server/publisher.module.js';
export { MqttAsyncServerClosingError } from './server/replies.js';
export { MqttAsyncNonRetryableError, retryableByDefault } from './server/retry.js';
export type {
  MqttAsyncRuntimeHandler,
  MqttAsyncSubscribeOptions,
  MqttAsyncSubscriptionHandle,
} from './server/runtime-subscriptions.js';
export {
  DEFAULT_SERVER_CONNECT_ATTEMPTS,
  type MessageHandledEvent,
  type MqttAsyncServerEvents,
  ServerMqttAsync,
} from './server/server-mqtt-async.js';
