/**
 * A microservice-only app whose reconnect limit runs out must not exit 0 as if it had finished (issue 11: it did,
 * with only an ERROR line, so restart policies that act on failure never noticed). Child process, mosquitto.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { compileLibForChild } from '../../support/compiled-lib.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
const SCRIPT = join(ROOT, 'test/nest/reconnect/fixtures/microservice-app.mjs');

describeMosquitto('a microservice-only app whose broker goes away for good (child process)', () => {
  let libDir: string;

  beforeAll(async () => {
    libDir = await compileLibForChild('exit-code');
  }, 150_000);

  afterAll(() => {
    if (libDir) rmSync(libDir, { recursive: true, force: true });
  });

  it('exits with code 1 and an ERROR saying it stopped consuming when reconnect.maxAttempts runs out', async () => {
    const broker: MosquittoHandle = await startMosquitto();
    const child = spawn(process.execPath, [SCRIPT], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        NEST_MQTT_ASYNC: pathToFileURL(join(libDir, 'nest/index.js')).href,
        MQTT_URL: broker.url,
        MAX_ATTEMPTS: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!output.includes('listening')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the app did not start: ${output}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      await broker.stop();
      // A hang guard, cleared once the child exits: left pending, it kept the Jest worker alive for 15 s after
      // this file ("A worker process has failed to exit gracefully" when it was a worker's last file).
      let guard: NodeJS.Timeout | undefined;
      const running = new Promise<'running'>((r) => {
        guard = setTimeout(() => r('running'), 15_000);
      });
      const code = await Promise.race([exited, running]).finally(() => clearTimeout(guard));
      expect(code).toBe(1);
      expect(output).toContain('stopped consuming');
      expect(output).toContain(broker.url);
    } finally {
      child.kill('SIGKILL');
      await broker.stop();
    }
  }, 60_000);
});
