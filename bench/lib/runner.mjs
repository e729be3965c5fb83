/**
 * What every benchmark shares: contenders alternating order every round, min/median/max per contender, one
 * process per case and the printed (= README) tables. Argument parsing (args.mjs), the machine's load and the
 * result files (results.mjs) are re-exported here, so a bench imports one module.
 */
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

export { options, parseArgs } from './args.mjs';
export { environment, load, round2, writeResult, writeResultFile } from './results.mjs';

/** @typedef {{ min: number, median: number, max: number }} Stats */
/**
 * Per figure of a round's result `R`, its `Stats` over the rounds; `rounds` keeps the raw results.
 * @template R
 * @typedef {{ [K in keyof R]: Stats } & { rounds: R[] }} Summary
 */

/**
 * min / median / max of numbers (the median of an even count is the lower middle: a value that was measured).
 * @param {number[]} values
 * @returns {Stats}
 */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0],
    median: sorted[Math.floor((sorted.length - 1) / 2)],
    max: sorted[sorted.length - 1],
  };
}

/**
 * The contenders in the order they run in round `i`: rotated by one every round, so each takes every place.
 * @template T
 * @param {readonly T[]} contenders
 * @param {number} i
 */
export function orderFor(contenders, i) {
  const k = i % contenders.length;
  return [...contenders.slice(k), ...contenders.slice(0, k)];
}

/**
 * Runs `round(contender, i)` for `rounds` rounds, the contenders' order rotating every round. Each round returns
 * an object of numbers; the result per contender is `{ <field>: { min, median, max }, rounds: [...] }`.
 * @template {string} C
 * @template {object} R
 * @param {readonly C[]} contenders
 * @param {number} rounds
 * @param {(contender: C, i: number) => R | Promise<R>} round
 * @param {{ onRound?: (contender: C, i: number, result: R) => void }} [options]
 * @returns {Promise<Record<C, Summary<R>>>}
 */
export async function alternate(contenders, rounds, round, { onRound } = {}) {
  const results = /** @type {Record<C, R[]>} */ (
    /** @type {unknown} */ (Object.fromEntries(contenders.map((c) => [c, []])))
  );
  for (let i = 0; i < rounds; i++) {
    for (const contender of orderFor(contenders, i)) {
      globalThis.gc?.();
      const r = await round(contender, i);
      results[contender].push(r);
      onRound?.(contender, i, r);
    }
  }
  return /** @type {Record<C, Summary<R>>} */ (Object.fromEntries(contenders.map((c) => [c, summarize(results[c])])));
}

/**
 * `{ field: {min, median, max} }` over rounds of `{ field: number }` (fields that are never a number are left
 * out); `rounds` keeps the raw figures.
 * @template {object} R
 * @param {R[]} rounds
 * @returns {Summary<R>}
 */
export function summarize(rounds) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of Object.keys(rounds[0] ?? {})) {
    const values = rounds
      .map((r) => /** @type {Record<string, unknown>} */ (r)[key])
      .filter((v) => typeof v === 'number');
    if (values.length > 0) out[key] = stats(values);
  }
  out.rounds = rounds;
  return /** @type {Summary<R>} */ (out);
}

/**
 * Ratio of medians, two decimals.
 * @param {number} a
 * @param {number} b
 */
export const ratio = (a, b) => Math.round((a / b) * 100) / 100;

/** @type {number | undefined} */
let clockTicks;
/**
 * CPU microseconds (user + system) process `pid` has used so far, from /proc/<pid>/stat (Linux; undefined
 * elsewhere). Resolution one clock tick (10 ms at the usual 100 Hz): measure windows of a second or more.
 * @param {number | undefined} pid
 * @returns {number | undefined}
 */
export function processCpuUs(pid) {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may contain spaces, inside parentheses): state is field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime (14) + stime (15)
    return (ticks * 1e6) / clockTicks;
  } catch {
    return undefined;
  }
}

/**
 * A Markdown table (what the bench prints and the README shows).
 * @param {string[]} headers
 * @param {unknown[][]} rows cells, printed with `String()`
 * @param {('l' | 'r')[]} [align] per column; default: the first left, the others right
 */
export function markdownTable(headers, rows, align) {
  const al = align ?? headers.map((_, i) => (i === 0 ? 'l' : 'r'));
  /** @param {unknown[]} cells */
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(headers),
    line(al.map((a) => (a === 'l' ? '---' : '---:'))),
    ...rows.map((r) => line(r.map(String))),
  ].join('\n');
}

/** `12,345/s` @param {number} x */
export const perS = (x) => `${Math.round(x).toLocaleString('en-US')}/s`;
/** `min–max` of a stats object with a formatter @param {Stats} s @param {(x: number) => string} f */
export const spread = (s, f) => `${f(s.min)}–${f(s.max)}`;
/** `1.23 ms` @param {number} x */
export const ms = (x) => `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`;

/**
 * A child process driven by commands: `call(cmd, extra)` sends `{ cmd, id, ...extra }` and resolves with the
 * child's reply `{ id, ... }` (rejects on `{ error }` or after `timeoutMs`). The child uses `serveCommands`.
 * @param {string | URL} script
 * @param {string[]} args
 * @param {{ timeoutMs?: number, execArgv?: string[] }} [options]
 */
export function worker(script, args, { timeoutMs = 180_000, execArgv = ['--expose-gc'] } = {}) {
  const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /**
   * @typedef {object} Waiting
   * @property {(reply: any) => void} resolve
   * @property {(err: Error) => void} reject
   * @property {NodeJS.Timeout} timer
   * @property {string} cmd
   */
  /** @type {Map<number, Waiting>} */
  const waiting = new Map();
  let seq = 0;
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.on('message', (/** @type {any} */ m) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    clearTimeout(w.timer);
    const { id: _id, error, ...reply } = m;
    if (error) w.reject(new Error(`${args.join(' ')} ${w.cmd}: ${error}`));
    else w.resolve(reply);
  });
  void exited.then((code) => {
    for (const w of waiting.values()) w.reject(new Error(`${args.join(' ')} exited (${code}) during ${w.cmd}`));
  });
  return {
    /**
     * The child's reply to `cmd` (its fields depend on the command: untyped).
     * @param {string} cmd
     * @param {object} [extra]
     * @returns {Promise<any>}
     */
    call(cmd, extra = {}) {
      return new Promise((resolve, reject) => {
        const id = ++seq;
        const timer = setTimeout(() => {
          waiting.delete(id);
          child.kill('SIGKILL');
          reject(new Error(`${args.join(' ')} ${cmd}: no reply within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { resolve, reject, timer, cmd });
        child.send({ cmd, id, ...extra });
      });
    },
    /** Sends `stop` and waits for the process to end (killed after 10 s). */
    async stop() {
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.call('stop').catch(() => undefined);
      await exited;
      clearTimeout(kill);
    },
  };
}

/**
 * The child side of `worker`: `handlers[cmd](message)` → reply; `stop` runs `handlers.stop` and exits.
 * @param {Record<string, ((message: any) => unknown) | undefined>} handlers
 */
export function serveCommands(handlers) {
  process.on('message', async (/** @type {any} */ m) => {
    // process.send exists: a 'message' arrived over the IPC channel.
    try {
      const reply = (await handlers[m.cmd]?.(m)) ?? {};
      process.send?.({ id: m.id, ...reply });
    } catch (err) {
      process.send?.({ id: m.id, error: /** @type {any} */ (err)?.stack ?? String(err) });
    }
    if (m.cmd === 'stop') {
      process.disconnect();
      setTimeout(() => process.exit(0), 20).unref();
    }
  });
}

/**
 * With BENCH_CPU_PROF_DIR set, `start()` begins a V8 CPU profile (the profiler behind `node --cpu-prof`) and
 * `stop(name)` writes it to <dir>/<name>.cpuprofile: only the measured window, without start-up and warm-up.
 * Summarize with bench/profile-summary.mjs. Without the variable both do nothing.
 */
export async function windowProfiler() {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return { start: async () => {}, stop: async () => {} };
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  return {
    start: () => session.post('Profiler.start'),
    stop: async (/** @type {string} */ name) => {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
    },
  };
}

/**
 * Correlation Data as our driver's request() makes it: 16 random bytes cut from a pool refilled by one
 * randomBytes() call per 256 requests. The MQTT.js request contenders use it too (same strategy both sides).
 */
export function correlationPool() {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 16 > pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const bytes = pool.subarray(offset, offset + 16);
    offset += 16;
    return bytes;
  };
}
