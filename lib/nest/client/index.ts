export {
  ClientMqttAsync,
  DEFAULT_REQUEST_TIMEOUT,
  type MqttAsyncClientEvents,
} from './client-mqtt-async.js';
export { DEFAULT_OFFLINE_QUEUE_SIZE } from './connection-gate.js';
export { DEFAULT_PUBLISH_TIMEOUT } from './event-publisher.js';
export {
  DEFAULT_MAX_PENDING_REQUESTS,
  MqttAsyncTooManyRequestsError,
} from './pending-requests.js';
