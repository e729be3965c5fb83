export { MqttAsyncRecord, MqttAsyncRecordBuilder, type MqttAsyncRecordOptions } from './mqtt-async.record.js';
