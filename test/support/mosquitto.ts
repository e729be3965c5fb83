import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { hasMosquitto, installHint, MOSQUITTO_BIN, requireBinary } from './binaries.mjs';
import { freePort } from './ports.js';

// The locator (binaries.mjs) is the one place that knows where programs are; re-exported for existing imports.
export { hasMosquitto, MOSQUITTO_BIN };

const warnedFor = new Set<string>();

function skipNotice(name: string, binary: string): void {
  if (warnedFor.has(binary)) return;
  warnedFor.add(binary);
  console.warn(`SKIPPED: "${name}" needs ${binary} (${installHint(binary.split('/').pop() ?? binary)})`);
}

/**
 * What `describeMosquitto` is on a machine without `binary`: `describe.skip` with a visible notice (printed once
 * per file and program), also as `.each(table)(name, fn)`, `.skip` and `.only` (which skip as well: nothing can
 * run). Under REQUIRE_BROKERS=1 (CI) the skipped tests fail the run (test/support/require-brokers-reporter.mjs).
 * Exported for its own test.
 */
export function skippingDescribe(binary: string): typeof describe {
  const skip = ((name: string, fn: () => void) => {
    skipNotice(String(name), binary);
    describe.skip(name, fn);
  }) as unknown as Record<string, unknown>;
  skip.each = ((...table: unknown[]) =>
    (name: string, fn: (...args: unknown[]) => void, timeout?: number) => {
      skipNotice(String(name), binary);
      (describe.skip.each as (...t: unknown[]) => (n: string, f: unknown, t?: number) => void)(...table)(
        name,
        fn,
        timeout,
      );
    }) as unknown;
  skip.skip = describe.skip;
  skip.only = skip;
  return skip as unknown as typeof describe;
}

/** `describe` when `available`, else a skipping `describe` that names `need` (a program, e.g. 'mosquitto'). */
export function describeIf(available: boolean, need: string): typeof describe {
  return available ? describe : skippingDescribe(need);
}

/** `it` when `available`, else `it.skip` with a visible notice naming `need` (printed once per file and need). */
export function itIf(available: boolean, need: string): typeof it {
  if (available) return it;
  const skip = ((name: string, ...rest: unknown[]) => {
    skipNotice(String(name), need);
    (it.skip as (n: string, ...r: unknown[]) => void)(name, ...rest);
  }) as unknown as Record<string, unknown>;
  skip.each = ((...table: unknown[]) =>
    (name: string, ...rest: unknown[]) => {
      skipNotice(String(name), need);
      (it.skip.each as (...t: unknown[]) => (n: string, ...r: unknown[]) => void)(...table)(name, ...rest);
    }) as unknown;
  skip.skip = it.skip;
  skip.only = skip;
  return skip as unknown as typeof it;
}

/** `describe` when mosquitto is installed, else `describe.skip` with a visible notice (printed once per file). */
export const describeMosquitto: typeof describe = describeIf(hasMosquitto, 'mosquitto');

/** `it` when mosquitto is installed, else `it.skip` with a visible notice. */
export const itMosquitto: typeof it = itIf(hasMosquitto, 'mosquitto');

export interface MosquittoOptions {
  /** Keep sessions and queued messages on disk across `restart()` (default false). */
  persistence?: boolean;
  /** Extra lines appended to the generated config. */
  extraConfig?: string[];
  /** Directory for the config and persistence file (default: a fresh temp dir, removed by `stop()`). */
  dir?: string;
  /** Picks the port to try (default `freePort`); the port-race test hands it a taken one first. */
  pickPort?: () => Promise<number>;
}

/** What tests that run on several brokers need of one (mosquitto's and aedes' handles both give it). */
export interface RunningBroker {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface MosquittoHandle {
  readonly url: string;
  readonly port: number;
  /** The running broker process (replaced by `restart()`). */
  readonly process: ChildProcess;
  /** Kills the broker (SIGTERM, SIGKILL after 3 s) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the broker (SIGTERM, so persistence is written) and starts it again on the same port and files,
   * `downFor` ms later (default at once); `whileDown` runs in between (e.g. to check what clients see meanwhile).
   */
  restart(options?: { downFor?: number; whileDown?: () => Promise<void> }): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function writeConfig(dir: string, port: number, options: MosquittoOptions): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'max_queued_messages 100000',
    'log_type error',
    // Only the start, "running" (every listener bound) and stop lines: spawnBroker waits for "running".
    'log_type information',
    'log_dest stderr',
  ];
  if (options.persistence) lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 0');
  lines.push(...(options.extraConfig ?? []));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  return conf;
}

/**
 * Starts mosquitto and resolves once it logged "running": its listeners are bound. Waiting for the port to accept
 * connections instead took another process listening on the same port for the broker.
 */
async function spawnBroker(conf: string): Promise<ChildProcess> {
  const child = spawn(requireBinary('mosquitto'), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let markRunning!: () => void;
  const runningLine = new Promise<void>((resolve) => {
    markRunning = resolve;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
    if (/ running\n/.test(stderr)) markRunning();
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`mosquitto exited (code ${code}): ${stderr.trim()}`))),
  );
  exited.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  // mosquitto is running within milliseconds on an idle machine; the deadline is for a loaded one (a full run at
  // load 16 saw a jest worker starved past 10 s). An exit (port taken, bad config) fails at once.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`mosquitto not running within 30 s: ${stderr.trim()}`)), 30_000);
  });
  try {
    await Promise.race([runningLine, exited, deadline]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return child;
}

/**
 * A port from freePort() can be taken before mosquitto binds it (by another test's listener, or as the local port
 * of any outgoing connection: both come from the ephemeral range), and mosquitto exits "Address already in use".
 * Another port is tried then; only the first start can move (restart() keeps its port for the clients).
 */
async function spawnOnFreePort(
  dir: string,
  options: MosquittoOptions,
): Promise<{ child: ChildProcess; port: number; conf: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await (options.pickPort ?? freePort)();
    const conf = writeConfig(dir, port, options);
    try {
      return { child: await spawnBroker(conf), port, conf };
    } catch (err) {
      if (attempt >= 5 || !String(err).includes('Address already in use')) throw err;
    }
  }
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts a private mosquitto on a free loopback port with its own config file. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoHandle> {
  if (!MOSQUITTO_BIN) throw new Error(`mosquitto is not installed or hidden (${installHint('mosquitto')})`);
  installExitHook();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'mosq-'));
  // mosquitto started as root drops to the `mosquitto` user, which must be able to write the persistence file.
  if (ownDir) chmodSync(dir, 0o777);
  const started = await spawnOnFreePort(dir, options);
  const { port, conf } = started;
  let child = started.child;
  let stopped = false;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get process() {
      return child;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart({ downFor = 0, whileDown }: { downFor?: number; whileDown?: () => Promise<void> } = {}) {
      if (stopped) throw new Error('mosquitto was stopped');
      await kill(child);
      // An outage of a chosen length (the port stays closed meanwhile: connection attempts are refused).
      if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
      await whileDown?.();
      child = await spawnBroker(conf);
    },
  };
}
