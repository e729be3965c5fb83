/**
 * nest-mqtt-async/codec: the MQTT 5.0 / 3.1.1 packet codec the driver is built on: packet types, `encodePacket`,
 * the streaming `PacketDecoder` (bounded sizes and counts, linear time), properties and reason codes. For tools,
 * proxies, fuzzers and brokers; applications use `nest-mqtt-async/driver`.
 */
export { PacketDecoder, type PacketDecoderOptions } from './decoder.js';
export { encodePacket, publishPacketSize } from './encoder.js';
export * from './packets.js';
export { PROPERTY_DEFS } from './properties.js';
export * from './reason-codes.js';
export { isValidMqttUtf8 } from './utf8.js';
export { MAX_VARIABLE_BYTE_INTEGER, variableByteIntegerLength } from './writer.js';
