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
 * `builtin`): a number (a rate, higher is better) or an object of them (`rate`, and `p50`/`p99` latencies, lower is
 * better). Each pair becomes one row: the speed-up of ours over the rival.
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
const LOWER_IS_BETTER = new Set(['p50', 'p99', 'p50Ms', 'p99Ms']);

/** Rows `{ bench, label, metric, ours, rival, rivalValue, speedup }` from every results file, in file order. */
export function collectRows() {
  const files = readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const rows = [];
  for (const file of files) {
    const data = JSON.parse(readFileSync(new URL(file, RESULTS), 'utf8'));
    walk(data, [], (path, node) => rows.push(...compare(file.replace(/\.json$/, ''), path, node)));
  }
  return rows;
}

function walk(node, path, visit) {
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      walk(item, [...path, item?.case ?? String(i)], visit);
    });
  } else if (node && typeof node === 'object') {
    if ('ours' in node) visit(path, node);
    for (const [key, value] of Object.entries(node)) {
      if (key !== 'ours' && !(key in RIVALS) && key !== 'env' && key !== 'environment') {
        walk(value, [...path, key], visit);
      }
    }
  }
}

function compare(bench, path, node) {
  const rows = [];
  const label = path.filter((p) => p !== 'results').join(' · ');
  for (const [key, rival] of Object.entries(RIVALS)) {
    const theirs = node[key];
    if (theirs === undefined) continue;
    if (typeof node.ours === 'number' && typeof theirs === 'number') {
      rows.push(row(bench, label, 'msg/s', node.ours, rival, theirs));
    } else if (node.ours && typeof node.ours === 'object' && theirs && typeof theirs === 'object') {
      for (const [metric, ours] of Object.entries(node.ours)) {
        if (typeof ours !== 'number' || typeof theirs[metric] !== 'number') continue;
        rows.push(
          row(bench, `${label} ${metric}`, LOWER_IS_BETTER.has(metric) ? 'ms' : 'msg/s', ours, rival, theirs[metric]),
        );
      }
    }
  }
  return rows;
}

function row(bench, label, unit, ours, rival, rivalValue) {
  const lower = unit === 'ms';
  const speedup = lower ? rivalValue / ours : ours / rivalValue;
  return { bench, label, unit, ours, rival, rivalValue, speedup: Math.round(speedup * 100) / 100 };
}

const fmt = (n, unit) => (unit === 'ms' ? `${n.toFixed(n < 10 ? 2 : 1)} ms` : Math.round(n).toLocaleString('en-US'));

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
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 70}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="10" y="20" font-size="14" font-weight="bold">nest-mqtt-async vs rivals: speed-up (higher is better; latency inverted)</text>`,
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
