import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect, MqttConnectError } from '../../../lib/driver/index.js';
import { ClientMqttAsync, ServerMqttAsync } from '../../../lib/nest/index.js';
import { describeMosquitto } from '../../support/mosquitto.js';
import { type AuthBroker, startAuthBroker } from './support/auth-broker.js';

/** Everything anything printed or logged during a test: Nest logger calls, console, stdout/stderr, errors. */
class Capture implements LoggerService {
  readonly lines: string[] = [];
  private readonly restore: Array<() => void> = [];

  start(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const spy = jest.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
        this.lines.push(String(chunk));
        return true;
      });
      this.restore.push(() => spy.mockRestore());
    }
    for (const method of ['log', 'error', 'warn', 'info', 'debug'] as const) {
      const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        this.lines.push(args.map((a) => inspect(a, { depth: 10 })).join(' '));
      });
      this.restore.push(() => spy.mockRestore());
    }
  }

  stop(): void {
    for (const r of this.restore.splice(0)) r();
  }

  /** Records a thrown/emitted value the way a logger or crash report would print it. */
  record(value: unknown): void {
    this.lines.push(inspect(value, { depth: 10 }), String((value as Error)?.stack ?? ''));
  }

  log = (...args: unknown[]) => this.push(args);
  error = (...args: unknown[]) => this.push(args);
  warn = (...args: unknown[]) => this.push(args);
  debug = (...args: unknown[]) => this.push(args);
  verbose = (...args: unknown[]) => this.push(args);
  fatal = (...args: unknown[]) => this.push(args);
  private push(args: unknown[]): void {
    this.lines.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 10 }))).join(' '));
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

@Module({})
class EmptyModule {}

describeMosquitto('passwords and tokens never appear in logs or error messages', () => {
  let auth: AuthBroker;
  const real = `real-${randomBytes(12).toString('hex')}`;
  beforeAll(async () => {
    auth = await startAuthBroker({ alice: real });
  });
  afterAll(async () => {
    await auth?.stop();
  });

  it('driver: refused connects (v5, v4, credentials hook, URL user info) — errors, stacks, inspect()', async () => {
    const capture = new Capture();
    const secrets = Array.from({ length: 4 }, () => `wrong-${randomBytes(12).toString('hex')}`);
    const [v5, v4, token, inUrl] = secrets as [string, string, string, string];
    const attempts = [
      () => connect(auth.url, { username: 'alice', password: v5 }),
      () => connect(auth.url, { protocolVersion: 4, username: 'alice', password: v4 }),
      () => connect(auth.url, { credentials: async () => ({ username: 'alice', password: token }) }),
      () => connect(auth.url.replace('mqtt://', `mqtt://alice:${inUrl}@`)),
      () => connect(`mqtt://alice:${inUrl}@[bad`),
    ];
    for (const attempt of attempts) {
      const err = await attempt().then(
        () => new Error('connected with a wrong password'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MqttConnectError);
      capture.record(err);
    }
    expect(capture.text).toMatch(/refused the connection/);
    for (const secret of [...secrets, real]) expect(capture.text).not.toContain(secret);
  });

  it('driver: a password in the URL or the options authenticates; inspecting the client never shows it', async () => {
    for (const client of [
      await connect(auth.url.replace('mqtt://', `mqtt://alice:${real}@`)),
      await connect(auth.url, { username: 'alice', password: real }),
      await connect(auth.url, { username: 'alice', password: Buffer.from(real) }),
    ]) {
      expect(client.status).toBe('connected');
      expect(client.url.href).not.toContain(real);
      expect(inspect(client, { depth: 6 })).not.toContain(real);
      const bytes = Buffer.from(real).subarray(0, 8);
      expect(inspect(client, { depth: 6 })).not.toContain(inspect(bytes).slice(8, -1));
      await client.disconnect();
    }
  });

  it('Nest: ServerMqttAsync and ClientMqttAsync failing to connect log and throw without the secret', async () => {
    const capture = new Capture();
    const secret = `nest-${randomBytes(12).toString('hex')}`;
    capture.start();
    try {
      const server = new ServerMqttAsync({
        url: auth.url.replace('mqtt://', `mqtt://alice:${secret}@`),
        username: 'alice',
        password: secret,
      });
      const app = await NestFactory.createMicroservice(EmptyModule, { strategy: server, logger: capture });
      capture.record(
        await app.listen().then(
          () => new Error('listened'),
          (e: unknown) => e,
        ),
      );
      await app.close().catch((e: unknown) => capture.record(e));
      const client = new ClientMqttAsync({
        url: auth.url.replace('mqtt://', `mqtt://alice:${secret}@`),
        password: secret,
      });
      capture.record(
        await client.connect().then(
          () => new Error('connected'),
          (e: unknown) => e,
        ),
      );
      await client.close();
    } finally {
      capture.stop();
    }
    expect(capture.text).toMatch(/could not connect/);
    expect(capture.text).toMatch(/refused the connection/);
    expect(capture.text).not.toContain(secret);
  });

  it('Nest: a running server whose password was rotated away logs the refusal, not the password', async () => {
    const capture = new Capture();
    const rotating = await startAuthBroker({ alice: real });
    capture.start();
    try {
      const server = new ServerMqttAsync({
        url: rotating.url,
        username: 'alice',
        password: real,
        reconnect: { initialDelay: 50, maxAttempts: 50 },
      });
      const app = await NestFactory.createMicroservice(EmptyModule, { strategy: server, logger: capture });
      await app.listen();
      rotating.setPassword('alice', `other-${randomBytes(4).toString('hex')}`);
      const closed = new Promise<void>((resolve) => server.on('status', (s) => s === 'closed' && resolve()));
      await rotating.broker.restart();
      await closed;
      await app.close();
    } finally {
      capture.stop();
      await rotating.stop();
    }
    expect(capture.text).toMatch(/refused the connection/);
    expect(capture.text).not.toContain(real);
  });
});
