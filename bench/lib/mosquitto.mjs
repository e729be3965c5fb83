/** Starts a private mosquitto on a free loopback port for benchmarks; `stop()` kills it and removes its dir. */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../test/support/binaries.mjs';
import { freePort, waitForPort } from './net.mjs';

// The one locator (PATH first; honours HIDE_BROKERS=1), shared with the tests and .ci/run.
export { hasMosquitto, MOSQUITTO_BIN } from '../../test/support/binaries.mjs';

/** `nodelay`: `set_tcp_nodelay true` (Nagle off on the broker's sockets; mosquitto's default is on). */
export async function startMosquitto({ nodelay = Boolean(process.env.BENCH_MOSQ_NODELAY) } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mosq-bench-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'max_queued_messages 100000',
    'max_queued_bytes 0',
    'log_type error',
    ...(nodelay ? ['set_tcp_nodelay true'] : []),
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn(requireBinary('mosquitto'), ['-c', conf], { stdio: 'ignore' });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  await waitForPort(port);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        process.off('exit', kill);
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
