#!/usr/bin/env node
/**
 * Copies the table of every benchmark results file (`table` in bench/results/<bench>.json: the same Markdown table
 * the bench printed when it wrote the file) between the `<!-- bench:start -->` / `<!-- bench:end -->` markers of
 * docs/benchmarks.md (the one place the figures are shown), each under its bench's name, with the run's load and
 * date. So every figure in that part of the page comes from a committed script and result file.
 *
 *   node bench/readme-tables.mjs           update docs/benchmarks.md
 *   node bench/readme-tables.mjs --check   exit 1 when its block is stale (used by test/docs/readme.spec.ts)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { options } from './lib/args.mjs';

const RESULTS = new URL('./results/', import.meta.url);
const README = new URL('../docs/benchmarks.md', import.meta.url);
const ORDER = ['transport', 'driver', 'scale', 'codec'];

/** The Markdown between the markers, from the results files that carry a table. */
export function block() {
  const files = readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''));
  const names = [...ORDER.filter((n) => files.includes(n)), ...files.filter((n) => !ORDER.includes(n)).sort()];
  const parts = [];
  for (const name of names) {
    const data = JSON.parse(readFileSync(new URL(`${name}.json`, RESULTS), 'utf8'));
    if (typeof data.table !== 'string') continue;
    const load = data.load?.before;
    const when = data.env?.date?.slice(0, 10) ?? 'unknown date';
    const loadText = load ? `, load average ${load.loadavg1} / ${load.loadavg5} on ${load.cpus} CPUs at the start` : '';
    parts.push(
      `#### \`npm run bench:${name}\` (bench/results/${name}.json: ${data.rounds ?? '?'} rounds, ${when}${loadText})\n\n${data.table}`,
    );
  }
  return parts.join('\n\n');
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** @param {string} readme */
function render(readme) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/benchmarks.md has no ${START} … ${END} block`);
  return `${readme.slice(0, a + START.length)}\n${block()}\n${readme.slice(b)}`;
}

const readme = readFileSync(README, 'utf8');
const next = render(readme);
if (options().flag('check')) {
  if (next !== readme) {
    console.error('docs/benchmarks.md benchmark tables are stale: run node bench/readme-tables.mjs');
    process.exit(1);
  }
} else if (next !== readme) {
  writeFileSync(README, next);
  console.log('docs/benchmarks.md benchmark tables updated');
}
