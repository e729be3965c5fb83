export {
  ClientMqttAsync,
  DEFAULT_REQUEST_TIMEOUT,
  MqttAsyncClientClosedError,
  type MqttAsyncClientEvents,
  MqttAsyncRequestTimeoutError,
} from './client-mqtt-async.js';
export {
  DEFAULT_MAX_PENDING_REQUESTS,
  MqttAsyncTooManyRequestsError,
} from './pending-requests.js';
