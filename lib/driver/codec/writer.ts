import { MqttProtocolError } from '../errors.js';
import { ReasonCode } from './reason-codes.js';

/** Largest value a Variable Byte Integer can carry (section 1.5.5). */
export const MAX_VARIABLE_BYTE_INTEGER = 268_435_455;

function invalid(message: string): never {
  throw new MqttProtocolError(`Cannot encode packet: ${message}`, ReasonCode.MalformedPacket);
}

/** Number of bytes of `value` as a Variable Byte Integer; throws when out of range. */
export function variableByteIntegerLength(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_VARIABLE_BYTE_INTEGER) {
    invalid(`${value} is out of range for a variable byte integer (0..${MAX_VARIABLE_BYTE_INTEGER})`);
  }
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

/** Encoded size of an MQTT UTF-8 string (2-byte length prefix included); throws when too long. */
export function stringLength(value: string): number {
  if (typeof value !== 'string') invalid(`expected a string, got ${typeof value}`);
  const n =
    value.length < 0x5555 ? (isAscii(value) ? value.length : Buffer.byteLength(value)) : Buffer.byteLength(value);
  if (n > 0xffff) invalid(`a string of ${n} bytes exceeds 65535`);
  if (value.includes('\u0000')) invalid('a string contains U+0000');
  return n + 2;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Encoded size of Binary Data (2-byte length prefix included); throws when too long. */
export function binaryLength(value: Uint8Array): number {
  if (!(value instanceof Uint8Array)) invalid('expected a Buffer for binary data');
  if (value.length > 0xffff) invalid(`binary data of ${value.length} bytes exceeds 65535`);
  return value.length + 2;
}

export function checkU16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) invalid(`${what} ${value} is not a two byte integer`);
  return value;
}

export function checkU32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    invalid(`${what} ${value} is not a four byte integer`);
  return value;
}

export { invalid as encodeError };

/** Cursor writing into a Buffer that was allocated at the exact packet size. */
export class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  u32(v: number): void {
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  varint(v: number): void {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      this.buf[this.pos++] = b;
    } while (v > 0);
  }

  /** Writes a string whose encoded size (without prefix) is `byteLength`. */
  string(v: string, byteLength: number): void {
    this.u16(byteLength);
    this.pos += this.buf.write(v, this.pos, byteLength === v.length ? 'latin1' : 'utf8');
  }

  binary(v: Uint8Array): void {
    this.u16(v.length);
    this.bytes(v);
  }

  bytes(v: Uint8Array): void {
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
}
