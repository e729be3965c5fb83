/**
 * Reconnect policy of ServerMqttAsync and ClientMqttAsync (issue 11): the first connect is bounded; once
 * connected, both reconnect forever by default (backoff capped at 5 s); a user-set limit that runs out is loud.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice, Logger, type LoggerService } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import {
  ClientMqttAsync,
  DEFAULT_CONNECT_ATTEMPTS,
  DEFAULT_RECONNECT_MAX_DELAY,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { resolveReconnect } from '../../../lib/nest/reconnect.js';
import { eventually } from '../../support/eventually.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { freePort } from '../../support/ports.js';

/** This file's deadline: 10_000 ms unless a call says otherwise. */
const until = (predicate: () => boolean, what: string | (() => string), ms = 10_000) => eventually(predicate, what, ms);

@Controller()
class EchoController {
  @MessagePattern('policy/echo')
  echo(@Payload() n: number) {
    return n;
  }
}

/** Keeps ERROR lines (passed to the app as `logger`, and as the Logger override for ClientMqttAsync). */
class Errors implements LoggerService {
  readonly lines: string[] = [];
  log() {}
  warn() {}
  error(message: unknown) {
    this.lines.push(String(message));
  }
}

describe('resolveReconnect (shared by ServerMqttAsync and ClientMqttAsync)', () => {
  it('bounds the first connect, then reconnects forever with a backoff capped at 5 s', () => {
    expect(resolveReconnect(undefined)).toEqual({
      maxDelay: DEFAULT_RECONNECT_MAX_DELAY,
      maxAttempts: Number.POSITIVE_INFINITY,
      connectAttempts: DEFAULT_CONNECT_ATTEMPTS,
    });
    expect(DEFAULT_RECONNECT_MAX_DELAY).toBeLessThanOrEqual(5000);
  });

  it('keeps what the options give; a maxAttempts also bounds the first connect unless connectAttempts is set', () => {
    expect(resolveReconnect(false)).toBe(false);
    expect(resolveReconnect({ maxAttempts: 5, maxDelay: 1000 })).toMatchObject({
      maxAttempts: 5,
      maxDelay: 1000,
      connectAttempts: 5,
    });
    expect(resolveReconnect({ connectAttempts: 1 })).toMatchObject({ connectAttempts: 1, maxAttempts: Infinity });
  });
});

describe('the first connect stays bounded', () => {
  it('ClientMqttAsync.connect() with default options fails after a few attempts, naming the URL without secrets', async () => {
    const port = await freePort();
    const client = new ClientMqttAsync({ url: `mqtt://bob:hunter2@127.0.0.1:${port}` });
    const err = (await client.connect().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(String(err.message)).toContain(`127.0.0.1:${port}`);
    expect(String(err.message)).not.toContain('hunter2');
    await client.close();
  });
});

describeMosquitto('reconnect policy on mosquitto', () => {
  let broker: MosquittoHandle | undefined;
  let app: INestMicroservice | undefined;
  let client: ClientMqttAsync | undefined;
  const exitCode = process.exitCode;

  afterEach(async () => {
    await client?.close();
    await app?.close();
    await broker?.stop();
    process.exitCode = exitCode;
    client = undefined;
    app = undefined;
  });

  async function startServer(server: ServerMqttAsync, logger: LoggerService | false = false) {
    const moduleRef = await Test.createTestingModule({ controllers: [EchoController] }).compile();
    app = moduleRef.createNestMicroservice({ strategy: server, logger });
    await app.listen();
  }

  it('with default options both sides outlive a 1.5 s broker outage and the service answers again', async () => {
    broker = await startMosquitto();
    const server = new ServerMqttAsync({ url: broker.url });
    await startServer(server);
    client = new ClientMqttAsync({ url: broker.url, requestTimeout: 5000 });
    expect(await firstValueFrom(client.send('policy/echo', 1))).toBe(1);

    await broker.restart({ downFor: 1500 });
    await until(() => server.unwrap().status === 'connected', 'the server to reconnect');
    await until(() => client!.unwrap().status === 'connected', 'the client to reconnect');
    expect(await firstValueFrom(client.send('policy/echo', 2))).toBe(2);
    expect(server.closeCause).toBeUndefined();
    expect(process.exitCode).toBe(exitCode);
  });

  it('a user-set limit that runs out is loud: ERROR "stopped consuming", status closed with the cause, error event, exit code 1', async () => {
    broker = await startMosquitto();
    const server = new ServerMqttAsync({ url: broker.url, reconnect: { maxAttempts: 2, initialDelay: 10 } });
    const logger = new Errors();
    const statuses: string[] = [];
    server.status.subscribe((s) => statuses.push(s));
    const errors: Error[] = [];
    server.on('error', (err) => errors.push(err));
    await startServer(server, logger);

    await broker.stop();
    await until(() => statuses.at(-1) === 'closed', 'status closed');
    const line = logger.lines.find((l) => l.includes('stopped consuming'));
    expect(line).toContain(broker.url);
    expect(server.closeCause).toBeInstanceOf(Error);
    expect(line).toContain(server.closeCause!.message);
    expect(errors.length).toBeGreaterThan(0);
    expect(process.exitCode).toBe(1);
  });

  it('ClientMqttAsync: a user-set limit that runs out logs an ERROR and keeps the cause', async () => {
    broker = await startMosquitto();
    const logged = new Errors();
    Logger.overrideLogger(logged);
    try {
      client = new ClientMqttAsync({ url: broker.url, reconnect: { maxAttempts: 2, initialDelay: 10 } });
      const statuses: string[] = [];
      client.status.subscribe((s) => statuses.push(s));
      await client.connect();
      await broker.stop();
      await until(() => statuses.at(-1) === 'closed', 'status closed');
      expect(client.closeCause).toBeInstanceOf(Error);
      expect(logged.lines.some((l) => l.includes('ClientMqttAsync stopped') && l.includes(broker!.url))).toBe(true);
    } finally {
      Logger.overrideLogger(false);
    }
  });
});
