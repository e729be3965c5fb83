import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import mqtt, { type MqttClient } from 'mqtt';
import { compileLibForChild } from '../../support/compiled-lib.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { outsideClient } from './helpers.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
const SCRIPT = join(ROOT, 'test/nest/server/fixtures/shutdown-app.mjs');
/** How long the child's handler works; SIGTERM arrives while it runs. */
const HANDLER_MS = 800;

/** The child: a Nest microservice on ServerMqttAsync with enableShutdownHooks(), lines of stdout as steps. */
class App {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [SCRIPT], {
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((done) =>
      this.child.once('exit', (code, signal) => done({ code, signal, at: Date.now() })),
    );
  }

  async waitFor(line: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.lines.includes(line)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no '${line}' from the app; stdout: ${this.lines.join(' | ')}; stderr: ${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * Resumes the app's persistent session with MQTT.js, then publishes a sentinel into it: whatever the broker still
 * owed the session (a message whose PUBACK never went out) is sent on resume, before the sentinel.
 */
async function drainSession(url: string, clientId: string, publisher: MqttClient) {
  const peer = mqtt.connect(url, {
    protocolVersion: 5,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 300 },
    reconnectPeriod: 0,
  });
  try {
    const received: Array<{ payload: string; dup: boolean }> = [];
    const sentinel = new Promise<void>((done) =>
      peer.on('message', (_topic, payload, packet) => {
        received.push({ payload: payload.toString(), dup: packet.dup });
        if (payload.toString() === '{"n":"sentinel"}') done();
      }),
    );
    const connack = await new Promise<mqtt.IConnackPacket>((done, fail) => {
      peer.once('connect', done);
      peer.once('error', fail);
    });
    await publisher.publishAsync('jobs/slow', '{"n":"sentinel"}', { qos: 1 });
    await sentinel;
    return { sessionPresent: connack.sessionPresent, received };
  } finally {
    await peer.endAsync(true);
  }
}

describeMosquitto('enableShutdownHooks(): SIGTERM while a handler runs (child process, mosquitto v5)', () => {
  let broker: MosquittoHandle;
  let publisher: MqttClient;
  let libDir: string;

  beforeAll(async () => {
    libDir = await compileLibForChild('shutdown-hooks');
    broker = await startMosquitto();
    publisher = await outsideClient(broker.url);
  }, 150_000);

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.stop();
    if (libDir) rmSync(libDir, { recursive: true, force: true });
  });

  async function runUntilSignal(signal: NodeJS.Signals, useProcessExit: boolean) {
    const clientId = `shutdown-${randomUUID()}`;
    const app = new App({
      NEST_MQTT_ASYNC: pathToFileURL(join(libDir, 'nest/index.js')).href,
      MQTT_URL: broker.url,
      CLIENT_ID: clientId,
      HANDLER_MS: String(HANDLER_MS),
      USE_PROCESS_EXIT: useProcessExit ? '1' : '0',
    });
    try {
      await app.waitFor('listening');
      await publisher.publishAsync('jobs/slow', '{"n":1}', { qos: 1 });
      await app.waitFor('started 1');
      const killedAt = Date.now();
      app.child.kill(signal);
      const exit = await app.exited;
      return { app, clientId, exit, ms: exit.at - killedAt };
    } finally {
      if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    }
  }

  it.each([
    { useProcessExit: false, expected: { code: null, signal: 'SIGTERM' }, how: 'Nest re-raises SIGTERM' },
    { useProcessExit: true, expected: { code: 0, signal: null }, how: 'useProcessExit: exit code 0' },
  ])('exits promptly after the handler finished and its ack went out ($how)', async ({ useProcessExit, expected }) => {
    const { app, clientId, exit, ms } = await runUntilSignal('SIGTERM', useProcessExit);
    expect(app.stderr).toBe('');
    expect({ code: exit.code, signal: exit.signal }).toEqual(expected);
    // the handler was let finish, then the server closed, then the app's shutdown hooks ran
    expect(app.lines).toEqual(['listening', 'started 1', 'finished 1', 'shutdown SIGTERM']);
    // promptly: as soon as the handler is done, not after the 10 s shutdownTimeout
    expect(ms).toBeGreaterThanOrEqual(HANDLER_MS - 300);
    expect(ms).toBeLessThan(HANDLER_MS + 2000);
    // the PUBACK left before the disconnect: the session owes nothing
    const session = await drainSession(broker.url, clientId, publisher);
    expect(session.sessionPresent).toBe(true);
    expect(session.received).toEqual([{ payload: '{"n":"sentinel"}', dup: false }]);
  });

  it('the control: SIGKILL during the handler sends no ack, so the session gets the message again', async () => {
    const { app, clientId, exit } = await runUntilSignal('SIGKILL', false);
    expect(exit.signal).toBe('SIGKILL');
    expect(app.lines).toEqual(['listening', 'started 1']);
    const session = await drainSession(broker.url, clientId, publisher);
    expect(session.sessionPresent).toBe(true);
    expect(session.received).toEqual([
      { payload: '{"n":1}', dup: true },
      { payload: '{"n":"sentinel"}', dup: false },
    ]);
  });
});
