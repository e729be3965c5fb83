/**
 * The one writer of bench/results/<name>.json, and what a results file records about the machine: the
 * environment and the load before and after the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** @param {number} x */
export const round2 = (x) => Math.round(x * 100) / 100;

/**
 * The machine's load now: 1/5/15-minute load averages and the CPU count (a load above the count = queued).
 * @typedef {{ loadavg1: number, loadavg5: number, loadavg15: number, cpus: number }} Load
 * @returns {Load}
 */
export function load() {
  const [one, five, fifteen] = os.loadavg().map(round2);
  return { loadavg1: one, loadavg5: five, loadavg15: fifteen, cpus: os.cpus().length };
}

/** Node version, CPU model and count, and the date of the run. */
export function environment() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    date: new Date().toISOString(),
  };
}

/**
 * Writes `data` as bench/results/<name>.json (two-space JSON and a final newline), as it is.
 * @param {string} name
 * @param {unknown} data
 */
export function writeResultFile(name, data) {
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../results/${name}.json`, import.meta.url), `${JSON.stringify(data, null, 2)}\n`);
}

/**
 * Writes bench/results/<name>.json with the environment (merged under `data.env`) and the load before and after
 * the run, and says so on stdout.
 * @param {string} name
 * @param {{ env?: object } & Record<string, unknown>} data
 * @param {Load} loadBefore `load()` taken before the first measurement
 */
export function writeResult(name, data, loadBefore) {
  const out = { ...data, env: { ...environment(), ...(data.env ?? {}) }, load: { before: loadBefore, after: load() } };
  writeResultFile(name, out);
  console.log(`\nwritten bench/results/${name}.json`);
}
