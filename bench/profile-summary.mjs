/**
 * Summarizes V8 CPU profiles (node --cpu-prof; the transport bench writes them with BENCH_CPU_PROF_DIR=dir):
 * the top frames by self time, and µs of CPU per operation when given the operation count.
 * Usage: node bench/profile-summary.mjs <file.cpuprofile | dir> [--ops=N] [--top=25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { options } from './lib/args.mjs';

const args = options();
const ops = args.number('ops', 0);
const top = args.number('top', 25);
const files = args.positional.flatMap((p) =>
  statSync(p).isDirectory()
    ? readdirSync(p, { recursive: true })
        .filter((f) => String(f).endsWith('.cpuprofile'))
        .map((f) => join(p, String(f)))
    : [p],
);

/**
 * What this reads of a .cpuprofile (V8's Profiler.Profile; samples and timeDeltas are always written).
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[] }} Profile
 */

for (const file of files) {
  /** @type {Profile} */
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  /** @type {Map<string, number>} */
  const self = new Map();
  const dt = prof.timeDeltas;
  // each sample's time goes to the sampled node's frame (self time)
  for (let i = 0; i < prof.samples.length; i++) {
    const n = /** @type {ProfileNode} */ (byId.get(prof.samples[i]));
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = self.get('(idle) ') ?? 0;
  const busy = total - idle;
  console.log(
    `\n${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy${ops ? `, ${(busy / ops).toFixed(1)} µs busy per op` : ''}`,
  );
  const rows = [...self]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, us] of rows) {
    console.log(
      `${((us / busy) * 100).toFixed(1).padStart(5)}%  ${ops ? `${(us / ops).toFixed(2).padStart(6)} µs/op  ` : ''}${k}`,
    );
  }
}
