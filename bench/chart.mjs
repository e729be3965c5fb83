#!/usr/bin/env node
/**
 * Renders bench/results/*.json as one comparison chart (bench/results/chart.svg) and a Markdown table, and
 * refreshes the table between the `<!-- bench:start -->` / `<!-- bench:end -->` markers of README.md.
 *
 *   node bench/chart.mjs            write chart.svg and update README.md
 *   node bench/chart.mjs --check    exit 1 when chart.svg or the README table is stale (used by the README test)
 *   node bench/chart.mjs --markdown print the table
 *
 * Every result file holds objects with an `ours` field next to a rival (`mqttPacket`, `mqttjs`, `mosquitto_sub`,
 * `builtin`): a number or an object of numbers. Rates are better higher; times and latencies (`ms`, `p99Ms`),
 * CPU costs (`cpuUs…`) and heap figures (`heap…MB`) are better lower; counts are not compared. Each pair becomes
 * one row: how many times better ours is than the rival (ours ÷ rival for rates, rival ÷ ours for the rest).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const RESULTS = new URL('./results/', import.meta.url);
const SVG = new URL('./results/chart.svg', import.meta.url);
const README = new URL('../README.md', import.meta.url);
const RIVALS = {
  mqttPacket: 'mqtt-packet',
  mqttjs: 'MQTT.js',
  mosquitto_sub: 'mosquitto_sub',
  builtin: 'Nest Transport.MQTT',
};

/** Rows `{ bench, label, unit, ours, rival, rivalValue, speedup }` from every results file, in file order. */
export function collectRows() {
  const files = readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const rows = [];
  for (const file of files) {
    const data = JSON.parse(readFileSync(new URL(file, RESULTS), 'utf8'));
    walk(data, [], {}, (path, node, rivals) => rows.push(...compare(file.replace(/\.json$/, ''), path, node, rivals)));
  }
  return rows;
}

/** Keys that describe a run rather than measure it. */
const SKIP = new Set(['env', 'environment', 'setup', 'targets', 'protocolVersion', 'target', 'note']);

/** Visits every object with an `ours` field; `rivals` are the nearest rival values (a nested variant of ours
 * without its own rival, like `rpc.sameQos`, is compared with its parent's rival). */
function walk(node, path, inherited, visit) {
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      walk(item, [...path, item?.case ?? String(i)], inherited, visit);
    });
    return;
  }
  if (!node || typeof node !== 'object') return;
  let rivals = inherited;
  if ('ours' in node) {
    const own = Object.fromEntries(
      Object.keys(RIVALS)
        .filter((k) => k in node)
        .map((k) => [k, node[k]]),
    );
    rivals = Object.keys(own).length > 0 ? own : inherited;
    visit(path, node, rivals);
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'ours' && !(key in RIVALS) && !SKIP.has(key)) walk(value, [...path, key], rivals, visit);
  }
}

/** Counts that describe what a case did (how many messages, how many wrong): no better or worse. */
const COUNTS = /unanswered|lost|errors?$|count$|^(wrong|rejected|settled|subscriptions|concurrent|messages)$/i;

/**
 * How to read a metric: a rate (higher is better), a time, a CPU cost or heap (lower is better), or nothing.
 * RSS is the whole process's (the allocator keeps freed pages, so a later case can show a negative delta):
 * not attributable to one side, so not compared.
 */
function metricKind(name) {
  if (/cpu/i.test(name)) return 'µs';
  if (/^p\d+|latency|Ms$/i.test(name)) return 'ms';
  if (/^heap.*MB$/.test(name)) return 'MB';
  if (/MB$|Maximum$|AtPeak$/.test(name) || COUNTS.test(name)) return undefined;
  return 'per s';
}

/**
 * Heap deltas under 1 MB (even negative ones) are within what GC leaves behind: they count as 1 MB in a ratio,
 * and a pair of them is not compared.
 */
const HEAP_NOISE_MB = 1;
const comparable = (unit, ours, rival) => unit !== 'MB' || Math.max(ours, rival) >= HEAP_NOISE_MB;

function compare(bench, path, node, rivals) {
  const rows = [];
  const label = path.filter((p) => p !== 'results' && p !== 'cases').join(' · ');
  for (const [key, theirs] of Object.entries(rivals)) {
    const rival = RIVALS[key];
    if (typeof node.ours === 'number' && typeof theirs === 'number') {
      const kind = metricKind(path.at(-1) ?? '');
      if (kind) rows.push(row(bench, label, kind, node.ours, rival, theirs));
    } else if (node.ours && typeof node.ours === 'object' && theirs && typeof theirs === 'object') {
      for (const [metric, ours] of Object.entries(node.ours)) {
        const kind = metricKind(metric);
        if (!kind || typeof ours !== 'number' || typeof theirs[metric] !== 'number') continue;
        rows.push(row(bench, `${label} · ${metric}`, kind, ours, rival, theirs[metric]));
      }
    }
  }
  return rows.filter((r) => Number.isFinite(r.speedup) && r.speedup > 0 && comparable(r.unit, r.ours, r.rivalValue));
}

function row(bench, label, unit, ours, rival, rivalValue) {
  const floor = (v) => (unit === 'MB' ? Math.max(v, HEAP_NOISE_MB) : v);
  const speedup = unit === 'per s' ? ours / rivalValue : floor(rivalValue) / floor(ours);
  return { bench, label, unit, ours, rival, rivalValue, speedup: Math.round(speedup * 100) / 100 };
}

const fmt = (n, unit) => {
  if (unit === 'ms') return `${n.toFixed(n < 10 ? 2 : 1)} ms`;
  if (unit === 'µs') return `${n.toFixed(1)} µs CPU`;
  if (unit === 'MB') return `${n.toFixed(1)} MB`;
  return `${Math.round(n).toLocaleString('en-US')}/s`;
};

/** The Markdown table of all rows. */
export function markdownTable(rows) {
  const lines = ['| bench | case | ours | rival | rival result | ours vs rival |', '|---|---|---:|---|---:|---:|'];
  for (const r of rows) {
    lines.push(
      `| ${r.bench} | ${r.label} | ${fmt(r.ours, r.unit)} | ${r.rival} | ${fmt(r.rivalValue, r.unit)} | ${r.speedup.toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}

const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** A horizontal bar chart of the speed-ups (1× = as fast as the rival). */
export function svgChart(rows) {
  const rowHeight = 22;
  const labelWidth = 420;
  const plotWidth = 420;
  const top = 44;
  const height = top + rows.length * rowHeight + 30;
  const max = Math.max(2, ...rows.map((r) => r.speedup));
  const x = (v) => labelWidth + (v / max) * plotWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 70}" height="${height}" font-family="sans-serif" font-size="12" role="img">`,
    '<title>nest-mqtt-async benchmark speed-ups against each rival</title>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="10" y="20" font-size="14" font-weight="bold">nest-mqtt-async vs rivals: speed-up (higher is better; time, latency, CPU, heap: rival ÷ ours)</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * rowHeight;
    const fill = r.speedup >= 1 ? '#2e7d32' : '#ef6c00';
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${esc(`${r.bench} · ${r.label} vs ${r.rival}`)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${(x(r.speedup) - labelWidth).toFixed(1)}" height="${rowHeight - 6}" fill="${fill}"/>`,
      `<text x="${(x(r.speedup) + 4).toFixed(1)}" y="${y + 14}">${r.speedup.toFixed(2)}×</text>`,
    );
  });
  const one = x(1).toFixed(1);
  parts.push(
    `<line x1="${one}" y1="${top - 4}" x2="${one}" y2="${top + rows.length * rowHeight}" stroke="#000" stroke-dasharray="4 3"/>`,
    `<text x="${one}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle">1× (as fast as the rival)</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** README.md with the generated table between the markers (unchanged when the markers are absent). */
export function readmeWithTable(readme, table) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return readme;
  return `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`;
}

function main() {
  const rows = collectRows();
  const table = markdownTable(rows);
  const svg = svgChart(rows);
  const readme = readFileSync(README, 'utf8');
  const updated = readmeWithTable(readme, table);
  if (process.argv.includes('--markdown')) {
    console.log(table);
  } else if (process.argv.includes('--check')) {
    const stale = [];
    if (readFileSync(SVG, 'utf8') !== svg) stale.push('bench/results/chart.svg');
    if (updated !== readme) stale.push('the README benchmark table');
    if (stale.length > 0) {
      console.error(`stale: ${stale.join(', ')}; run node bench/chart.mjs`);
      process.exit(1);
    }
  } else {
    writeFileSync(SVG, svg);
    if (updated !== readme) writeFileSync(README, updated);
    console.log(`bench/results/chart.svg: ${rows.length} comparisons`);
  }
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) main();
