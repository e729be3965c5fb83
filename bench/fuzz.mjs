/**
 * `npm run fuzz [-- --inputs=N --seed=S --clients=C]`: N random and mutated inputs (default 1,000,000) through
 * the PacketDecoder and N through driver clients on in-memory fake brokers, on the built dist/. Prints a JSON
 * report with the heap after GC at start and end; exits 1 on any finding (anything but a typed MqttError, a
 * hang, a publish that never settles) or heap growth over 10 MB.
 */
import * as codec from '../dist/driver/codec/index.js';
import * as driverApi from '../dist/driver/index.js';

const driver = { ...driverApi, ...codec };

import { fuzzClient, fuzzDecoder } from '../test/fuzz/fuzz-core.mjs';
import { options } from './lib/args.mjs';
import { mb, memoryAfterGc } from './lib/memory.mjs';

const args = options();
const inputs = args.number('inputs', 1_000_000);
const seed = args.number('seed', Date.now() % 100_000);
const clients = args.number('clients', 64);

const heapAfterGc = () => memoryAfterGc().heapUsed;
const heapStart = heapAfterGc();
let t = performance.now();
const decoder = fuzzDecoder(driver, { inputs, seed });
const decoderMs = performance.now() - t;
console.error(`decoder: ${inputs} inputs in ${Math.round(decoderMs)} ms, ${decoder.findings} findings`);
t = performance.now();
const client = await fuzzClient(driver, { inputs, seed, clients });
const clientMs = performance.now() - t;
console.error(`client: ${inputs} inputs in ${Math.round(clientMs)} ms, ${client.findings} findings`);
const heapEnd = heapAfterGc();
const report = {
  seed,
  inputs,
  decoder: { ...decoder, ms: Math.round(decoderMs) },
  client: { ...client, clients, ms: Math.round(clientMs) },
  heapMB: { start: mb(heapStart), end: mb(heapEnd), growth: mb(heapEnd - heapStart), gc: Boolean(global.gc) },
};
console.log(JSON.stringify(report, null, 2));
const ok = decoder.findings === 0 && client.findings === 0 && heapEnd - heapStart < 10 * 1048576;
process.exit(ok ? 0 : 1);
