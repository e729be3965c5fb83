/**
 * Soak infrastructure for plain node (the jest-side helpers in test/support import @jest/globals): a private
 * mosquitto with persistence that can be restarted on the same port, and a TCP proxy that cuts connections.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../test/support/binaries.mjs';
import { freePort, waitForPort } from '../lib/net.mjs';

// The one locator (PATH first; honours HIDE_BROKERS=1), shared with the tests and .ci/run.
export { MOSQUITTO_BIN } from '../../test/support/binaries.mjs';

/** mosquitto with persistence; `restart()` stops it with SIGTERM (writes the persistence file) and starts it again. */
export async function startPersistentMosquitto() {
  const dir = mkdtempSync(join(tmpdir(), 'mosq-soak-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'max_queued_messages 1000000',
    'max_queued_bytes 0',
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 0',
    'log_type error',
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let child;
  const start = async () => {
    child = spawn(requireBinary('mosquitto'), ['-c', conf], { stdio: 'ignore' });
    await waitForPort(port);
  };
  const stopChild = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  const onExit = () => child?.kill('SIGKILL');
  process.once('exit', onExit);
  await start();
  return {
    port,
    /** `downFor`: ms the port stays closed between stop and start (default 0). */
    async restart({ downFor = 0 } = {}) {
      await stopChild();
      if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
      await start();
    },
    async stop() {
      process.off('exit', onExit);
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy in front of 127.0.0.1:targetPort; `cutRandom()` destroys one open connection pair. */
export async function startCutProxy(targetPort) {
  const pairs = new Set();
  let cuts = 0;
  let held = false;
  const destroy = (pair) => {
    if (!pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  };
  const server = net.createServer((client) => {
    if (held) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', () => destroy(pair));
      s.on('close', () => destroy(pair));
    }
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    /** Refuses new connections (closes them at once) until `release()`. */
    hold() {
      held = true;
    },
    release() {
      held = false;
    },
    get openConnections() {
      return pairs.size;
    },
    cutRandom() {
      const list = [...pairs];
      if (list.length === 0) return;
      cuts++;
      destroy(list[Math.floor(Math.random() * list.length)]);
    },
    stop() {
      for (const pair of [...pairs]) destroy(pair);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
