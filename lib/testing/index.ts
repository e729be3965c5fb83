/**
 * nest-mqtt-async/testing: an in-memory MQTT broker for testing Nest apps that use nest-mqtt-async, with the
 * transport's real code path and real broker semantics (QoS, retain, acks, `$share`, MQTT 5 properties).
 */
export { type BrokerObserver, MemoryBroker, type MemoryConnectOptions } from './memory-broker.js';
export { MemoryClient } from './memory-client.js';
export type { AckState, Delivery } from './memory-message.js';
export type { PublishedRecord, RecordFilter, UnackedRecord } from './records.js';
export { MqttAsyncRpcError, type RpcOptions, rpcRequest } from './rpc.js';
export {
  DEFAULT_SETTLE_TIMEOUT,
  MEMORY_BROKER_URL,
  MqttAsyncTestBroker,
  type MqttAsyncTestBrokerOptions,
  type TestPublishOptions,
  type TestRequestOptions,
} from './test-broker.js';
