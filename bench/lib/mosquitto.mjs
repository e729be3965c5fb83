/**
 * The one mosquitto launcher of bench/ (the benches, the soak and the fault suite): a private broker on a free
 * loopback port in its own temporary directory, stopped and removed by `stop()`. test/support/mosquitto.ts is the
 * Jest side's (it imports @jest/globals).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../test/support/binaries.mjs';
import { freePort, waitForPort } from './net.mjs';

// The one locator (PATH first; honours HIDE_BROKERS=1), shared with the tests and .ci/run.
export { hasMosquitto, MOSQUITTO_BIN } from '../../test/support/binaries.mjs';

/**
 * @typedef {object} MosquittoOptions
 * @property {boolean} [nodelay] `set_tcp_nodelay true` (Nagle off on the broker's sockets; mosquitto's default is
 *   on). Default: the BENCH_MOSQ_NODELAY environment variable is set.
 * @property {boolean} [persistent] persistence on (sessions and queues survive `restart()`) and room for a
 *   million queued messages per client instead of 100,000: the soak's and the fault suite's broker. Default false.
 */

/**
 * @typedef {object} Mosquitto
 * @property {number} port
 * @property {string} url `mqtt://127.0.0.1:<port>`
 * @property {number | undefined} pid the running process (a new one after `restart()`)
 * @property {(options?: { downFor?: number }) => Promise<void>} restart stops it with SIGTERM (which writes the
 *   persistence file), keeps the port closed `downFor` ms (default 0), starts it again on the same port
 * @property {() => Promise<void>} stop SIGTERM (SIGKILL after 5 s), then removes its directory
 */

/**
 * The configuration lines: a bench broker, or a persistent one writing into `dir`.
 * @param {number} port
 * @param {string} dir
 * @param {Required<MosquittoOptions>} options
 */
function configLines(port, dir, { nodelay, persistent }) {
  const common = [`listener ${port} 127.0.0.1`, 'allow_anonymous true'];
  if (persistent) {
    return [
      ...common,
      'max_queued_messages 1000000',
      'max_queued_bytes 0',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 0',
      'log_type error',
      ...(nodelay ? ['set_tcp_nodelay true'] : []),
    ];
  }
  return [
    ...common,
    'max_queued_messages 100000',
    'max_queued_bytes 0',
    'log_type error',
    ...(nodelay ? ['set_tcp_nodelay true'] : []),
  ];
}

/**
 * Resolves once `child` has exited: at once if it already has, else after SIGTERM (SIGKILL after 5 s).
 * @param {import('node:child_process').ChildProcess} child
 */
function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve(undefined);
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts a private mosquitto and resolves once its port accepts connections.
 * @param {MosquittoOptions} [options]
 * @returns {Promise<Mosquitto>}
 */
export async function startMosquitto({ nodelay = Boolean(process.env.BENCH_MOSQ_NODELAY), persistent = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), persistent ? 'mosq-soak-' : 'mosq-bench-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${configLines(port, dir, { nodelay, persistent }).join('\n')}\n`);
  /** @type {import('node:child_process').ChildProcess} */
  let child;
  const start = async () => {
    const spawned = spawn(requireBinary('mosquitto'), ['-c', conf], { stdio: 'ignore' });
    child = spawned;
    /** @type {Promise<never>} */
    const exited = new Promise((_, reject) => {
      spawned.once('error', reject);
      spawned.once('exit', (code, signal) =>
        reject(new Error(`mosquitto exited (${signal ?? code}) before accepting connections on port ${port}`)),
      );
    });
    exited.catch(() => undefined); // it also rejects at the later stop(): nobody waits for it then
    try {
      // mosquitto listens within milliseconds on an idle machine; the deadline is for a loaded one (the tests'
      // launcher, test/support/mosquitto.ts, saw 10 s exceeded at load 16). An exit (port taken) fails at once.
      await Promise.race([waitForPort(port, 'mosquitto', 30_000), exited]);
    } catch (err) {
      spawned.kill('SIGKILL');
      throw err;
    }
  };
  // Never leave a broker behind when the bench exits without stop() (a throw, process.exit()).
  const onExit = () => child?.kill('SIGKILL');
  process.once('exit', onExit);
  try {
    await start();
  } catch (err) {
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get pid() {
      return child.pid;
    },
    async restart({ downFor = 0 } = {}) {
      await stopChild(child);
      if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
      await start();
    },
    async stop() {
      process.off('exit', onExit);
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
