/**
 * Connect failures keep their identity through ClientMqttAsync and ServerMqttAsync: the driver's MqttConnectError
 * with the socket's `code` (ECONNREFUSED) or the broker's reason code at the TOP level, the URL redacted, a message
 * saying what to do. Nest's own `disconnected-client` test maps `error.code === 'ECONNREFUSED'` from send() to 408.
 */
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { lastValueFrom } from 'rxjs';
import { MqttConnectError, MqttError } from '../../lib/driver/index.js';
import { ClientMqttAsync, DEFAULT_CONNECT_ATTEMPTS, ServerMqttAsync } from '../../lib/nest/index.js';
import { type FakeBroker, startFakeBroker } from '../support/fake-broker.js';
import { freePort } from '../support/ports.js';
import { settleWithin } from '../support/settle.js';

/** Hang detector: the default first connect makes 3 attempts, ~300 ms of backoff. */
const HANG_MS = 5000;

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
});

function client(url: string, options: Partial<ConstructorParameters<typeof ClientMqttAsync>[0]> = {}) {
  const c = new ClientMqttAsync({ url, ...options });
  closers.push(() => c.close());
  return c;
}

function listen(server: ServerMqttAsync): Promise<void> {
  closers.push(() => server.close());
  return new Promise((resolve, reject) => server.listen((err) => (err ? reject(err) : resolve())));
}

function expectSocketRefusal(error: unknown, port: number): void {
  expect(error).toBeInstanceOf(MqttConnectError);
  expect(error).toBeInstanceOf(MqttError);
  const err = error as MqttConnectError;
  expect(err.code).toBe('ECONNREFUSED');
  expect(err.message).toContain(`mqtt://***@127.0.0.1:${port}`);
  expect(err.message).toMatch(/check that the broker runs/);
  const everything = inspect(err, { depth: 10 });
  expect(everything).not.toContain('s3cret');
  expect(everything).not.toContain('alice');
}

describe('connect failures keep their identity', () => {
  it('client.connect() with default options: prompt MqttConnectError, code ECONNREFUSED at the top level', async () => {
    const port = await freePort();
    const c = client(`mqtt://alice:s3cret@127.0.0.1:${port}`);
    let attempts = 1;
    c.on('reconnecting', () => attempts++);
    const { error } = await settleWithin(c.connect(), HANG_MS, 'connect()');
    expectSocketRefusal(error, port);
    expect(attempts).toBe(DEFAULT_CONNECT_ATTEMPTS);
  });

  it("client.send() with the broker down errors with code 'ECONNREFUSED' (Nest's disconnected-client idiom)", async () => {
    const port = await freePort();
    const c = client(`mqtt://alice:s3cret@127.0.0.1:${port}`);
    const { error } = await settleWithin(lastValueFrom(c.send({ cmd: 'none' }, [1, 2, 3])), HANG_MS, 'send()');
    expectSocketRefusal(error, port);
  });

  it('client.emit() with the broker down errors with code ECONNREFUSED', async () => {
    const port = await freePort();
    const c = client(`mqtt://alice:s3cret@127.0.0.1:${port}`);
    const { error } = await settleWithin(lastValueFrom(c.emit('events/x', 1)), HANG_MS, 'emit()');
    expectSocketRefusal(error, port);
  });

  it('server listen() with the broker down fails with MqttConnectError, code ECONNREFUSED', async () => {
    const port = await freePort();
    const server = new ServerMqttAsync({
      url: `mqtt://alice:s3cret@127.0.0.1:${port}`,
      reconnect: { initialDelay: 10 },
    });
    const { error } = await settleWithin(listen(server), HANG_MS, 'listen()');
    expectSocketRefusal(error, port);
  });

  describe('a broker refusing the CONNECT', () => {
    let fake: FakeBroker;
    afterEach(async () => {
      await fake?.stop();
    });

    it.each([
      ['MQTT 5', 5 as const, 0x87],
      ['MQTT 3.1.1', 4 as const, 5],
    ])('%s: client and server get MqttConnectError with the reason code and what to do', async (_, version, code) => {
      fake = await startFakeBroker((conn) => conn.handshake({ reasonCode: code }).then(() => undefined));
      const c = client(fake.url, { protocolVersion: version });
      const clientError = (await settleWithin(c.connect(), HANG_MS, 'connect()')).error as MqttConnectError;
      const server = new ServerMqttAsync({ url: fake.url, protocolVersion: version });
      const serverError = (await settleWithin(listen(server), HANG_MS, 'listen()')).error as MqttConnectError;
      for (const [who, err] of [
        ['ClientMqttAsync', clientError],
        ['ServerMqttAsync', serverError],
      ] as const) {
        expect(err).toBeInstanceOf(MqttConnectError);
        expect(err.reasonCode).toBe(code);
        expect(err.message).toContain(`${who} could not connect to ${fake.url}`);
        expect(err.message).toMatch(/not authorized: check username\/password/);
      }
    });
  });
});
