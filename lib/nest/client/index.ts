export { ClientMqttAsync } from './client-mqtt-async.js';
