/** Tiny benchmark helpers: warm-up, several timed rounds, median throughput. */
import os from 'node:os';

/** Runs `fn` (which processes `ops` items) for `rounds` rounds after warm-up; returns median ops/s. */
export function medianRate(fn, ops, { warmup = 3, rounds = 7 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const rates = [];
  for (let i = 0; i < rounds; i++) {
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    fn();
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((ops * 1e9) / ns);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

export function environment() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    date: new Date().toISOString(),
  };
}

/** Splits `buf` into views of `size` bytes, like socket reads. */
export function chunks(buf, size) {
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}
