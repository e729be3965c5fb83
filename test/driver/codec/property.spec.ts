/** Property-based tests of the codec: round trips, chunking invariance, and error typing on hostile input. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { encodePacket, PacketDecoder } from '../../../lib/driver/codec/index.js';
import type { Packet, ProtocolVersion } from '../../../lib/driver/codec/packets.js';
import { MqttProtocolError } from '../../../lib/driver/errors.js';
import { anyPacket } from './arbitraries.js';

const VERSIONS: ProtocolVersion[] = [4, 5];

function decodeAll(v: ProtocolVersion, chunks: Uint8Array[]): Packet[] {
  const d = new PacketDecoder({ protocolVersion: v });
  const out: Packet[] = [];
  for (const c of chunks) out.push(...d.push(c));
  return out;
}

/** Splits `buf` at the given (unsorted, possibly repeated) cut points. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    parts.push(buf.subarray(start, p));
    start = p;
  }
  parts.push(buf.subarray(start));
  return parts;
}

/** Runs the decoder and reports anything thrown that is not an MqttProtocolError. */
function expectOnlyProtocolErrors(v: ProtocolVersion, chunks: Uint8Array[], maximumPacketSize?: number): void {
  const d = new PacketDecoder({ protocolVersion: v, maximumPacketSize });
  try {
    for (const c of chunks) d.push(c);
  } catch (err) {
    if (!(err instanceof MqttProtocolError)) throw err;
    expect(typeof err.reasonCode).toBe('number');
  }
}

describe.each(VERSIONS)('codec properties, MQTT v%i', (v) => {
  it('decode(encode(p)) deep-equals p for every packet type', () => {
    fc.assert(
      fc.property(anyPacket(v), (p) => {
        expect(decodeAll(v, [encodePacket(p, v)])).toEqual([p]);
      }),
      { numRuns: 2000 },
    );
  });

  it('any chunking of a valid stream yields the same packets', () => {
    fc.assert(
      fc.property(
        fc.array(anyPacket(v), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (packets, cuts) => {
          const stream = Buffer.concat(packets.map((p) => encodePacket(p, v)));
          expect(decodeAll(v, split(stream, cuts))).toEqual(packets);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('one byte at a time yields the same packets', () => {
    fc.assert(
      fc.property(fc.array(anyPacket(v), { minLength: 1, maxLength: 4 }), (packets) => {
        const stream = Buffer.concat(packets.map((p) => encodePacket(p, v)));
        const bytes = [...stream].map((b) => Uint8Array.of(b));
        expect(decodeAll(v, bytes)).toEqual(packets);
      }),
      { numRuns: 300 },
    );
  });

  it('random byte streams in random chunks throw nothing but MqttProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (arr, cuts) => {
        expectOnlyProtocolErrors(v, split(Buffer.from(arr), cuts));
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid streams throw nothing but MqttProtocolError', () => {
    const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(
        fc.array(anyPacket(v), { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.option(fc.integer({ min: 2, max: 200 }), { nil: undefined }),
        (packets, mutations, cuts, max) => {
          const stream = Buffer.from(Buffer.concat(packets.map((p) => encodePacket(p, v))));
          for (const m of mutations) stream[m.at % stream.length] = m.value;
          expectOnlyProtocolErrors(v, split(stream, cuts), max);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
