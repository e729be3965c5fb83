export { backoffDelay } from './backoff.js';
export { MqttClient } from './client.js';
export * from './codec/index.js';
export { connect } from './connect.js';
export * from './errors.js';
export { PacketIds } from './session/packet-ids.js';
export * from './topic.js';
export { redactUrl } from './transport/url.js';
export * from './types.js';
