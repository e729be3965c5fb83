/**
 * CI slice of `npm run fuzz`: 10,000 random and mutated inputs through the PacketDecoder and 10,000 through
 * driver clients on in-memory fake brokers (v5 and 3.1.1). Any finding — an error that is not a typed
 * MqttError, a valid input refused, a client writing bytes our decoder rejects, a hang, a publish that never
 * settles — fails with the first examples, and so does heap growth (see MAX_HEAP_GROWTH). The seed is printed
 * on failure so the run can be replayed with `npm run fuzz -- --inputs=10000 --seed=<seed>`.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import * as codec from '../../lib/driver/codec/index.js';
import * as driverApi from '../../lib/driver/index.js';

/** What the fuzzers drive: the client API and the codec. */
const driver = { ...driverApi, ...codec };

import { type FuzzDriver, fuzzClient, fuzzDecoder } from './fuzz-core.mjs';

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100_000);
const INPUTS = 10_000;

/**
 * Heap growth allowed over a run of 10,000 inputs, measured after GC while every decoder and client of the run
 * is still reachable, so what they hold counts. Healthy runs measured 0.2–0.6 MB (code compiled during the run,
 * hundreds of idle decoders, 16 closed clients with their bounded buffers: none of it grows with the inputs).
 * One retained Buffer per input (~100 bytes of heap) takes that over the bound; the last test retains every
 * chunk pushed (~2 MB) to show the check fails.
 */
const MAX_HEAP_GROWTH = 1024 * 1024;

/**
 * jest runs without --expose-gc; V8 installs `gc` in contexts created after the flag is set. Bytecode flushing
 * is turned off: during a run V8 drops the bytecode of functions unused for a while (jest's and ts-jest's, up to
 * 1.4 MB), which would hide a leak as big.
 */
function exposeGc(): () => void {
  v8.setFlagsFromString('--no-flush-bytecode');
  const own = (globalThis as { gc?: () => void }).gc;
  if (own) return own;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
const gc = exposeGc();

/** Heap used once another full GC frees nothing more (weak references and finalizers can take a second one). */
function heapAfterGc(): number {
  let heap = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 20; i++) {
    gc();
    const now = process.memoryUsage().heapUsed;
    if (now > heap - 16 * 1024) return Math.min(now, heap);
    heap = now;
  }
  return heap;
}

/** The driver, with every PacketDecoder and client it creates kept reachable in `kept`. */
function keepingAlive(kept: unknown[], Decoder = driver.PacketDecoder) {
  class KeptDecoder extends Decoder {
    constructor(options: codec.PacketDecoderOptions) {
      super(options);
      kept.push(this);
    }
  }
  const connect: typeof driver.connect = async (url, options) => {
    const client = await driver.connect(url, options);
    kept.push(client);
    return client;
  };
  return { ...driver, PacketDecoder: KeptDecoder, connect };
}

/**
 * Heap growth over `run` on a driver that keeps what it creates reachable. A warm-up run on the same driver
 * (same classes, so the same compiled code and hidden classes) goes first and is not counted.
 */
async function heapGrowth(run: (fuzzDriver: FuzzDriver, inputs: number) => unknown, Decoder = driver.PacketDecoder) {
  const kept: unknown[] = [];
  const fuzzDriver = keepingAlive(kept, Decoder);
  await run(fuzzDriver, 2_000);
  kept.length = 0;
  const before = heapAfterGc();
  await run(fuzzDriver, INPUTS);
  const growth = heapAfterGc() - before;
  expect(kept.length).toBeGreaterThan(0);
  return growth;
}

describe(`fuzz slice (seed ${seed})`, () => {
  it('10,000 inputs through the PacketDecoder: only typed MqttErrors, every valid input decodes, heap bounded', async () => {
    let report: ReturnType<typeof fuzzDecoder> | undefined;
    const growth = await heapGrowth((fuzzDriver, inputs) => {
      report = fuzzDecoder(fuzzDriver, { inputs, seed });
    });
    expect(report?.examples).toEqual([]);
    expect(report?.findings).toBe(0);
    expect(report?.inputs).toBe(INPUTS);
    expect(report?.rejected).toBeGreaterThan(0); // the mutations do reach the error paths
    expect(report?.packets).toBeGreaterThan(0);
    expect({ heapGrowth: growth, bounded: growth < MAX_HEAP_GROWTH }).toMatchObject({ bounded: true });
  });

  it('10,000 inputs through clients on fake brokers: only typed errors, reconnects, every publish settles, heap bounded', async () => {
    let report: Awaited<ReturnType<typeof fuzzClient>> | undefined;
    const growth = await heapGrowth(async (fuzzDriver, inputs) => {
      report = await fuzzClient(fuzzDriver, { inputs, seed, clients: 16 });
    });
    expect(report?.examples).toEqual([]);
    expect(report?.findings).toBe(0);
    expect(report?.inputs).toBe(INPUTS);
    expect(report?.counts.reconnects).toBeGreaterThan(0);
    expect(report?.counts.delivered).toBeGreaterThan(0);
    expect({ heapGrowth: growth, bounded: growth < MAX_HEAP_GROWTH }).toMatchObject({ bounded: true });
  }, 60_000);

  it('the heap bound catches a decoder that retains its inputs', async () => {
    class RetainingDecoder extends driver.PacketDecoder {
      readonly chunks: Uint8Array[] = [];
      override push(chunk: Uint8Array): codec.Packet[] {
        this.chunks.push(chunk);
        return super.push(chunk);
      }
    }
    const growth = await heapGrowth((fuzzDriver, inputs) => {
      fuzzDecoder(fuzzDriver, { inputs, seed });
    }, RetainingDecoder);
    expect(growth).toBeGreaterThan(MAX_HEAP_GROWTH);
  });
});
