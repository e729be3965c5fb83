export {
  ClientMqttAsync,
  DEFAULT_REQUEST_TIMEOUT,
  MqttAsyncClientClosedError,
  type MqttAsyncClientEvents,
  MqttAsyncRequestTimeoutError,
} from './client-mqtt-async.js';
