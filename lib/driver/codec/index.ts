export { PacketDecoder, type PacketDecoderOptions } from './decoder.js';
export { encodePacket, publishPacketSize } from './encoder.js';
export * from './packets.js';
export { PROPERTY_DEFS } from './properties.js';
export * from './reason-codes.js';
export { isValidMqttUtf8 } from './utf8.js';
export { MAX_VARIABLE_BYTE_INTEGER, variableByteIntegerLength } from './writer.js';
