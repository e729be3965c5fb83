/**
 * CI slice of `npm run fuzz`: 10,000 random and mutated inputs through the PacketDecoder and 10,000 through
 * driver clients on in-memory fake brokers (v5 and 3.1.1). Any finding — an error that is not a typed
 * MqttError, a valid input refused, a client writing bytes our decoder rejects, a hang, a publish that never
 * settles — fails with the first examples. The seed is printed on failure so the run can be replayed with
 * `npm run fuzz -- --inputs=10000 --seed=<seed>`.
 */
import { describe, expect, it } from '@jest/globals';
import * as driver from '../../lib/driver/index.js';
import { fuzzClient, fuzzDecoder } from './fuzz-core.mjs';

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100_000);

describe(`fuzz slice (seed ${seed})`, () => {
  it('10,000 inputs through the PacketDecoder: only typed MqttErrors, every valid input decodes', () => {
    const report = fuzzDecoder(driver, { inputs: 10_000, seed });
    expect(report.examples).toEqual([]);
    expect(report.findings).toBe(0);
    expect(report.inputs).toBe(10_000);
    expect(report.rejected).toBeGreaterThan(0); // the mutations do reach the error paths
    expect(report.packets).toBeGreaterThan(0);
  });

  it('10,000 inputs through clients on fake brokers: only typed errors, reconnects, every publish settles', async () => {
    const report = await fuzzClient(driver, { inputs: 10_000, seed, clients: 16 });
    expect(report.examples).toEqual([]);
    expect(report.findings).toBe(0);
    expect(report.inputs).toBe(10_000);
    expect(report.counts.reconnects).toBeGreaterThan(0);
    expect(report.counts.delivered).toBeGreaterThan(0);
  }, 60_000);
});
