import { MqttProtocolError } from '../errors.js';
import { ReasonCode } from './reason-codes.js';
import { isValidMqttUtf8 } from './utf8.js';

/** Throws a Malformed Packet error; `never` so callers can use it in expressions. */
export function malformed(message: string): never {
  throw new MqttProtocolError(`Malformed packet: ${message}`, ReasonCode.MalformedPacket);
}

/** Throws a Protocol Error. */
export function protocolError(message: string): never {
  throw new MqttProtocolError(`Protocol error: ${message}`, ReasonCode.ProtocolError);
}

/** Bounds-checked cursor over one packet body. Never reads past `end`. */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) malformed(`packet ends inside ${what}`);
  }

  u8(what = 'a byte'): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  u16(what = 'a two byte integer'): number {
    this.need(2, what);
    const v = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  u32(what = 'a four byte integer'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Variable Byte Integer (section 1.5.5): at most 4 bytes, shortest form. */
  varint(what = 'a variable byte integer'): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) malformed(`${what} is not in its shortest form`);
        return value;
      }
      multiplier *= 128;
    }
    return malformed(`${what} is longer than 4 bytes`);
  }

  string(what = 'a UTF-8 string'): string {
    const len = this.u16(what);
    this.need(len, what);
    const start = this.pos;
    const end = start + len;
    if (!isValidMqttUtf8(this.buf, start, end)) malformed(`${what} is not valid MQTT UTF-8`);
    this.pos = end;
    return this.buf.toString('utf8', start, end);
  }

  /** Binary Data; a zero-copy view of the input. */
  binary(what = 'binary data'): Buffer {
    const len = this.u16(what);
    this.need(len, what);
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, this.pos);
  }

  /** The rest of the body, zero-copy. */
  rest(): Buffer {
    const b = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return b;
  }

  expectEnd(what: string): void {
    if (this.pos !== this.end) malformed(`${this.end - this.pos} unexpected trailing byte(s) in ${what}`);
  }
}
