import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  connect,
  type MqttClient,
  MqttConnectError,
  MqttPublishError,
  MqttSubscribeError,
} from '../../../lib/driver/index.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { take } from '../../support/messages.js';
import { describeIf, describeMosquitto } from '../../support/mosquitto.js';
import { type AuthBroker, hasDynsec, startAuthBroker, startDynsecBroker } from './support/auth-broker.js';

const secret = () => `pw-${randomBytes(12).toString('hex')}`;

async function connectError(url: string, options: Parameters<typeof connect>[1]): Promise<MqttConnectError> {
  const result = await connect(url, options).then(
    async (client) => {
      await client.disconnect();
      return new Error('connected but a refusal was expected');
    },
    (err: unknown) => err,
  );
  expect(result).toBeInstanceOf(MqttConnectError);
  return result as MqttConnectError;
}

describeMosquitto('username/password and ACL against mosquitto (password_file + acl_file)', () => {
  let auth: AuthBroker;
  const alice = secret();

  beforeAll(async () => {
    auth = await startAuthBroker({ alice, bob: secret() });
  });
  afterAll(async () => {
    await auth?.stop();
  });

  for (const protocolVersion of [5, 4] as const) {
    it(`v${protocolVersion}: the right password connects and carries messages`, async () => {
      const client = await connect(auth.url, { protocolVersion, username: 'alice', password: alice });
      const sub = await client.subscribe('alice/in', { qos: 1 });
      await client.publish('alice/in', 'hello', { qos: 1 });
      expect((await take(sub, 1))[0]?.payload.toString()).toBe('hello');
      await client.disconnect();
    });
  }

  it('v5: a wrong password → MqttConnectError 0x86/0x87 saying so, at once (the default reconnect does not retry)', async () => {
    const wrong = secret();
    const err = await connectError(auth.url, { username: 'alice', password: wrong });
    // mosquitto 2.0 answers a bad password with 0x87 Not authorized; other brokers use 0x86.
    expect([0x86, 0x87]).toContain(err.reasonCode);
    expect(err.message).toMatch(
      /(bad user name or password|not authorized): check username\/password.*\(reason code 0x8[67] (Bad User Name or Password|Not authorized)\)/,
    );
    expect(err.message).not.toContain(wrong);
  });

  it('v4: a wrong password → MqttConnectError with the 3.1.1 return code (4 or 5) named in the message', async () => {
    const err = await connectError(auth.url, { protocolVersion: 4, username: 'alice', password: secret() });
    expect([4, 5]).toContain(err.reasonCode);
    expect(err.message).toMatch(/MQTT 3\.1\.1 return code [45] (Bad user name or password|Not authorized)/);
  });

  it('v5: an unknown user, and an anonymous client, are refused with a reason code', async () => {
    const unknown = await connectError(auth.url, { username: 'mallory', password: secret() });
    expect([0x86, 0x87]).toContain(unknown.reasonCode);
    const anonymous = await connectError(auth.url, {});
    expect([0x86, 0x87]).toContain(anonymous.reasonCode);
  });

  describe('ACL (MQTT 5: the refusal reaches the call that caused it)', () => {
    let client: MqttClient;
    beforeAll(async () => {
      client = await connect(auth.url, { username: 'alice', password: alice });
    });
    afterAll(async () => {
      await client?.disconnect();
    });

    it('a QoS 1 publish the ACL denies rejects with MqttPublishError 0x87; the connection keeps working', async () => {
      const sub = await client.subscribe('alice/ok', { qos: 1 });
      const denied = await client.publish('bob/secret', 'x', { qos: 1 }).catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(MqttPublishError);
      expect((denied as MqttPublishError).reasonCode).toBe(0x87);
      expect((denied as Error).message).toMatch(/refused publish to bob\/secret.*Not authorized/);
      await client.publish('alice/ok', 'still fine', { qos: 1 });
      expect((await take(sub, 1))[0]?.payload.toString()).toBe('still fine');
      expect(client.status).toBe('connected');
      await sub.unsubscribe();
    });

    it('a QoS 2 publish the ACL denies rejects too (PUBREC 0x87)', async () => {
      const denied = await client.publish('public/news', 'x', { qos: 2 }).catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(MqttPublishError);
      expect((denied as MqttPublishError).reasonCode).toBe(0x87);
      await expect(client.publish('alice/q2', 'ok', { qos: 2 })).resolves.toMatchObject({ reasonCode: 0 });
    });
  });
});

const describeDynsec: typeof describe = describeIf(hasDynsec, 'mosquitto_dynamic_security');

describeDynsec('subscribe ACL (mosquitto dynamic-security plugin: acl_file never refuses SUBSCRIBE)', () => {
  let auth: AuthBroker;
  const carol = secret();
  beforeAll(async () => {
    auth = await startDynsecBroker({ carol });
  });
  afterAll(async () => {
    await auth?.stop();
  });

  it('v5: a denied subscribe rejects with MqttSubscribeError 0x87; other subscriptions keep receiving', async () => {
    const client = await connect(auth.url, { username: 'carol', password: carol });
    const ok = await client.subscribe('carol/feed', { qos: 1 });
    const denied = await client.subscribe('dave/#', { qos: 1 }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(MqttSubscribeError);
    expect((denied as MqttSubscribeError).reasonCodes).toEqual([0x87]);
    expect((denied as MqttSubscribeError).reasonCode).toBe(0x87);
    await client.publish('carol/feed', 'after denial', { qos: 1 });
    expect((await take(ok, 1))[0]?.payload.toString()).toBe('after denial');
    const publishDenied = await client.publish('dave/x', 'x', { qos: 1 }).catch((e: unknown) => e);
    expect((publishDenied as MqttPublishError).reasonCode).toBe(0x87);
    expect(client.status).toBe('connected');
    await client.disconnect();
  });

  it('v4: a denied subscribe rejects with SUBACK 0x80', async () => {
    const client = await connect(auth.url, { protocolVersion: 4, username: 'carol', password: carol });
    const denied = await client.subscribe('dave/#', { qos: 1 }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(MqttSubscribeError);
    expect((denied as MqttSubscribeError).reasonCodes).toEqual([0x80]);
    await expect(client.publish('carol/x', 'still connected', { qos: 1 })).resolves.toBeDefined();
    await client.disconnect();
  });

  it('v5: a wrong password is refused with a reason code', async () => {
    const err = await connectError(auth.url, { username: 'carol', password: secret() });
    expect([0x86, 0x87]).toContain(err.reasonCode);
  });
});

describeMosquitto('credentials hook: called before every (re)connect', () => {
  it('a changed password is picked up on reconnect; a static password is refused and the client stops', async () => {
    const first = secret();
    const auth = await startAuthBroker({ alice: first });
    const proxy = await startFaultProxy(auth.broker.port);
    let current = first;
    const calls: string[] = [];
    const credentials = async () => {
      calls.push(current);
      return { username: 'alice', password: current };
    };
    const refreshing = await connect(proxy.url, { credentials, reconnect: { initialDelay: 20, maxDelay: 100 } });
    const fixed = await connect(proxy.url, { username: 'alice', password: first, reconnect: { initialDelay: 20 } });
    const fixedErrors: Error[] = [];
    fixed.on('error', (e) => fixedErrors.push(e));
    const fixedClosed = new Promise<void>((resolve) => fixed.on('status', (s) => s === 'closed' && resolve()));
    try {
      expect(calls).toEqual([first]);
      // Rotate the password: the broker now only knows the new one; the token source returns it.
      const second = secret();
      auth.setPassword('alice', second);
      current = second;
      const reconnected = new Promise<void>((resolve) => refreshing.on('connect', () => resolve()));
      await auth.broker.restart();
      proxy.cutAll();
      await reconnected;
      expect(calls.at(-1)).toBe(second);
      expect(calls.length).toBeGreaterThanOrEqual(2);
      const after = await refreshing.publish('alice/after', 'x', { qos: 1 });
      expect(after.reasonCode).toBeLessThan(0x80);
      await fixedClosed;
      const refused = fixedErrors.find((e) => e instanceof MqttConnectError) as MqttConnectError;
      expect([0x86, 0x87]).toContain(refused.reasonCode);
    } finally {
      await refreshing.disconnect();
      await fixed.disconnect();
      await proxy.stop();
      await auth.stop();
    }
  });

  it('a credentials hook that fails is retried with backoff (a token service hiccup), then connects', async () => {
    const password = secret();
    const auth = await startAuthBroker({ alice: password });
    let calls = 0;
    try {
      const client = await connect(auth.url, {
        reconnect: { initialDelay: 10, maxAttempts: 5 },
        credentials: async () => {
          calls++;
          if (calls < 3) throw new Error('token service unavailable');
          return { username: 'alice', password: new TextEncoder().encode(password) };
        },
      });
      expect(calls).toBe(3);
      expect(client.status).toBe('connected');
      await client.disconnect();
    } finally {
      await auth.stop();
    }
  });
});
