import { MqttError, MqttProtocolError } from '../errors.js';
import { decodeBody, REQUIRED_FLAGS } from './decode-packets.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { ReasonCode } from './reason-codes.js';

/** Options of {@link PacketDecoder}. */
export interface PacketDecoderOptions {
  /** Protocol level of the connection; a decoded CONNECT switches it to the CONNECT's level. */
  protocolVersion: ProtocolVersion;
  /** Largest packet (fixed header included) accepted from the peer; larger ones throw 0x95 before buffering. */
  maximumPacketSize?: number;
}

const MAX_PACKET = 268_435_455 + 5;
/**
 * First allocation for a body that spans chunks; it doubles as bytes arrive. Allocating the announced size at
 * once let 5 bytes from a hostile peer (a header announcing 256 MB) cost 256 MB.
 */
const INITIAL_BODY_BYTES = 64 * 1024;

function fail(message: string, code: number = ReasonCode.MalformedPacket): never {
  throw new MqttProtocolError(message, code);
}

/**
 * Streaming MQTT packet decoder: feed it the bytes of a connection in any chunking, get whole packets.
 *
 * Payloads and binary fields of a packet that arrived within one chunk are zero-copy views of that
 * chunk: do not reuse a chunk's memory after pushing it. The decoder throws only `MqttProtocolError`;
 * after one error the stream is dead and every later `push` throws the same error until `reset()`.
 */
export class PacketDecoder {
  private version: ProtocolVersion;
  private readonly maximumPacketSize: number;
  /** Fixed header being collected byte by byte: first byte, then up to 4 length bytes. */
  private first = -1;
  private remaining = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** Body of a packet that spans chunks: `bodySize` bytes announced, `filled` arrived, capacity grows with them. */
  private body: Buffer | null = null;
  private bodySize = 0;
  private filled = 0;
  private error: MqttProtocolError | null = null;

  constructor(opts: PacketDecoderOptions) {
    if (opts.protocolVersion !== 4 && opts.protocolVersion !== 5) {
      throw new MqttProtocolError(
        `protocolVersion must be 4 or 5, got ${String(opts.protocolVersion)}`,
        ReasonCode.UnsupportedProtocolVersion,
      );
    }
    const max = opts.maximumPacketSize;
    if (max !== undefined && !(Number.isInteger(max) && max >= 2)) {
      throw new MqttError(`maximumPacketSize must be an integer >= 2 (bytes), got ${String(max)}`);
    }
    this.version = opts.protocolVersion;
    this.maximumPacketSize = Math.min(opts.maximumPacketSize ?? MAX_PACKET, MAX_PACKET);
  }

  /** Protocol level currently used to decode (4 or 5). */
  get protocolVersion(): ProtocolVersion {
    return this.version;
  }

  /** Drops any partial packet and a previous error, e.g. for a new connection. */
  reset(protocolVersion: ProtocolVersion = this.version): void {
    this.version = protocolVersion;
    this.clearHeader();
    this.body = null;
    this.filled = 0;
    this.error = null;
  }

  /** Decodes every complete packet in `chunk` (plus what was pending). */
  push(chunk: Uint8Array): Packet[] {
    if (this.error) throw this.error;
    try {
      return this.consume(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    } catch (err) {
      this.error =
        err instanceof MqttProtocolError
          ? err
          : new MqttProtocolError(`Malformed packet: ${(err as Error)?.message ?? String(err)}`, 0x81, { cause: err });
      this.body = null;
      throw this.error;
    }
  }

  private clearHeader(): void {
    this.first = -1;
    this.remaining = 0;
    this.multiplier = 1;
    this.lengthBytes = 0;
  }

  private consume(buf: Buffer): Packet[] {
    const out: Packet[] = [];
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      if (this.body !== null) {
        const n = Math.min(this.bodySize - this.filled, len - pos);
        if (this.filled + n > this.body.length) this.grow(this.filled + n);
        buf.copy(this.body, this.filled, pos, pos + n);
        this.filled += n;
        pos += n;
        if (this.filled === this.bodySize) {
          const body = this.body;
          this.body = null;
          out.push(this.decode(body, 0, this.bodySize));
        }
        continue;
      }
      if (!this.readHeaderByte(buf[pos++] as number)) continue;
      // Fixed header complete: the body is `remaining` bytes.
      const size = this.remaining;
      if (len - pos >= size) {
        out.push(this.decode(buf, pos, pos + size));
        pos += size;
      } else {
        this.body = Buffer.allocUnsafe(Math.min(size, INITIAL_BODY_BYTES));
        this.bodySize = size;
        this.filled = 0;
      }
    }
    return out;
  }

  /** At least doubles the body buffer, never beyond the announced size. */
  private grow(needed: number): void {
    const body = this.body as Buffer;
    const next = Buffer.allocUnsafe(Math.min(this.bodySize, Math.max(needed, body.length * 2)));
    body.copy(next, 0, 0, this.filled);
    this.body = next;
  }

  /** Takes one fixed-header byte; returns true once the header is complete and checked. */
  private readHeaderByte(b: number): boolean {
    if (this.first < 0) {
      const type = b >> 4;
      if (type === 0) fail('Malformed packet: packet type 0 is reserved (2.1.2)');
      const required = REQUIRED_FLAGS[type] as number;
      if (required >= 0 && (b & 0x0f) !== required) {
        fail(`Malformed packet: invalid fixed header flags 0x${(b & 0x0f).toString(16)} for type ${type} (2.1.3)`);
      }
      if (type === 15 && this.version === 4) fail('Malformed packet: AUTH does not exist in MQTT 3.1.1');
      this.first = b;
      return false;
    }
    this.remaining += (b & 0x7f) * this.multiplier;
    this.multiplier *= 128;
    this.lengthBytes++;
    if (b & 0x80) {
      if (this.lengthBytes === 4) fail('Malformed packet: remaining length is longer than 4 bytes (2.1.4)');
      return false;
    }
    if (b === 0 && this.lengthBytes > 1) fail('Malformed packet: remaining length is not in its shortest form (1.5.5)');
    const total = 1 + this.lengthBytes + this.remaining;
    if (total > this.maximumPacketSize) {
      fail(
        `Packet of ${total} bytes exceeds the maximum packet size ${this.maximumPacketSize}`,
        ReasonCode.PacketTooLarge,
      );
    }
    return true;
  }

  private decode(buf: Buffer, start: number, end: number): Packet {
    const first = this.first;
    this.clearHeader();
    const packet = decodeBody(first, buf, start, end, this.version);
    if (packet.type === 'connect') this.version = packet.protocolVersion;
    return packet;
  }
}
