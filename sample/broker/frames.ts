/**
 * Splits an MQTT byte stream into whole control packets (fixed header + body) without decoding them, so the
 * embedded broker can rewrite SUBSCRIBE/UNSUBSCRIBE and pass every other packet through byte for byte.
 */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  /** Appends a chunk and returns the packets it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      const size = frameSize(this.pending);
      if (size === undefined || size > this.pending.length) break;
      frames.push(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
    }
    return frames;
  }
}

/** Total size of the packet starting at `buf[0]`, or undefined while its length bytes are incomplete. */
function frameSize(buf: Buffer): number | undefined {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (i >= buf.length) return undefined;
    const byte = buf[i] as number;
    remaining += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return 1 + i + remaining;
  }
  // A malformed length: hand over what we have and let the broker reject it.
  return buf.length;
}

/** MQTT control packet type of a frame (high nibble of the first byte). */
export function frameType(frame: Buffer): number {
  return (frame[0] ?? 0) >> 4;
}

export const CONNECT = 1;
export const SUBSCRIBE = 8;
export const UNSUBSCRIBE = 10;
