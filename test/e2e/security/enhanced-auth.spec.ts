import { randomBytes, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Packet } from '../../../lib/driver/codec/index.js';
import {
  connect,
  type EnhancedAuthOptions,
  MqttConnectError,
  MqttDisconnectedError,
} from '../../../lib/driver/index.js';
import { nextEvent, settlesWithin } from '../../support/messages.js';
import { unhandledRejectionsDuring } from '../../support/unhandled-rejections.js';
import { type ChallengeBroker, METHOD, proof, startChallengeBroker } from './support/challenge-broker.js';

const KEY = `key-${randomBytes(8).toString('hex')}`;

/** A client-side `auth` option for the challenge broker; records the nonces it sent and the proofs it checked. */
function challengeAuth(keyOf: string | (() => string)) {
  const key = () => (typeof keyOf === 'string' ? keyOf : keyOf());
  const nonces: Buffer[] = [];
  let verified = 0;
  const auth: EnhancedAuthOptions = {
    method: METHOD,
    data: () => {
      const nonce = randomBytes(16);
      nonces.push(nonce);
      return nonce;
    },
    onAuth: (serverNonce, reasonCode) => {
      expect(reasonCode).toBe(0x18);
      return proof(key(), serverNonce ?? Buffer.alloc(0), nonces.at(-1) as Buffer);
    },
    onSuccess: (serverProof) => {
      const expected = proof(key(), nonces.at(-1) as Buffer);
      if (!serverProof || serverProof.length !== expected.length || !timingSafeEqual(serverProof, expected)) {
        throw new Error('the broker could not prove it knows the key');
      }
      verified++;
    },
  };
  return { auth, nonces, verified: () => verified };
}

/**
 * `auth` whose next `data()` call (a re-authentication's) waits until `release()`, like a token fetched over the
 * network; the calls before and after it (CONNECTs) answer at once.
 */
function heldData(auth: EnhancedAuthOptions) {
  let hold = false;
  let release: (() => void) | undefined;
  let markAsked!: () => void;
  const asked = new Promise<void>((resolve) => {
    markAsked = resolve;
  });
  const data = auth.data as () => Uint8Array;
  const held: EnhancedAuthOptions = {
    ...auth,
    data: () => {
      if (!hold) return data();
      hold = false;
      markAsked();
      return new Promise<Uint8Array>((resolve) => {
        release = () => resolve(data());
      });
    },
  };
  return { auth: held, holdNext: () => (hold = true), asked, release: () => release?.() };
}

const types = (packets: Packet[]) => packets.map((p) => (p.type === 'auth' ? `auth:${p.reasonCode}` : p.type));

describe('MQTT 5 enhanced authentication (AUTH exchange) against a scripted broker', () => {
  let broker: ChallengeBroker | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('a two-round challenge/response connects; the broker proof is checked in onSuccess', async () => {
    broker = await startChallengeBroker({ key: KEY, rounds: 2 });
    const { auth, verified } = challengeAuth(KEY);
    const client = await connect(broker.url, { auth, reconnect: false });
    expect(verified()).toBe(1);
    await expect(client.publish('a/b', 'x', { qos: 1 })).resolves.toMatchObject({ reasonCode: 0 });
    await client.disconnect();
    const packets = broker.connections[0] as Packet[];
    expect(types(packets).slice(0, 3)).toEqual(['connect', 'auth:24', 'auth:24']);
    const connectPacket = packets[0] as Extract<Packet, { type: 'connect' }>;
    expect(connectPacket.properties?.authenticationMethod).toBe(METHOD);
    // Every AUTH we sent names the method, as the spec requires.
    for (const p of packets.filter((x) => x.type === 'auth'))
      expect((p as Extract<Packet, { type: 'auth' }>).properties?.authenticationMethod).toBe(METHOD);
  });

  it('each reconnect runs the whole exchange again with fresh data', async () => {
    broker = await startChallengeBroker({ key: KEY, rounds: 1 });
    const { auth, nonces, verified } = challengeAuth(KEY);
    const client = await connect(broker.url, { auth, reconnect: { initialDelay: 10 } });
    const reconnected = new Promise<void>((resolve) => client.on('connect', () => resolve()));
    broker.cutAll();
    await reconnected;
    expect(verified()).toBe(2);
    expect(nonces).toHaveLength(2);
    expect(nonces[0]?.equals(nonces[1] as Buffer)).toBe(false);
    await client.disconnect();
  });

  it('a wrong proof → the broker refuses with 0x87 → MqttConnectError, the key never in the message', async () => {
    broker = await startChallengeBroker({ key: KEY });
    const wrongKey = `wrong-${randomBytes(8).toString('hex')}`;
    const err = await connect(broker.url, { auth: challengeAuth(wrongKey).auth }).catch((e) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as MqttConnectError).reasonCode).toBe(0x87);
    expect(String((err as Error).stack)).not.toContain(wrongKey);
  });

  it('a method the broker does not know → MqttConnectError 0x8C "bad authentication method"', async () => {
    broker = await startChallengeBroker({ key: KEY });
    const err = await connect(broker.url, {
      auth: { method: 'SCRAM-SHA-1', onAuth: () => undefined },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as MqttConnectError).reasonCode).toBe(0x8c);
    expect((err as Error).message).toMatch(/bad authentication method: check auth\.method/);
  });

  it('an impostor broker (wrong server proof) is rejected by onSuccess', async () => {
    broker = await startChallengeBroker({ key: KEY, serverKey: 'not-the-key' });
    const err = await connect(broker.url, { auth: challengeAuth(KEY).auth, reconnect: false }).catch((e) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/rejected the broker in onSuccess/);
    expect(((err as Error).cause as Error).message).toMatch(/could not prove/);
  });

  it('onAuth throwing aborts the connect with MqttConnectError carrying the cause', async () => {
    broker = await startChallengeBroker({ key: KEY });
    const err = await connect(broker.url, {
      auth: {
        method: METHOD,
        onAuth: () => {
          throw new Error('token service down');
        },
      },
      reconnect: false,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/failed in onAuth/);
    expect(((err as Error).cause as Error).message).toBe('token service down');
  });

  it('an AUTH we never asked for (no auth option) is a protocol error, not a crash', async () => {
    broker = await startChallengeBroker({ key: KEY });
    const err = await connect(broker.url, {
      connectProperties: { authenticationMethod: METHOD },
      reconnect: false,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/no enhanced authentication was requested/);
  });

  it('auth on MQTT 3.1.1 is refused before any I/O', async () => {
    await expect(
      connect('mqtt://127.0.0.1:1', { protocolVersion: 4, auth: { method: METHOD, onAuth: () => undefined } }),
    ).rejects.toThrow(/needs MQTT 5/);
  });

  describe('re-authentication on a live connection (AUTH 0x19)', () => {
    it('reauthenticate() runs the exchange again without reconnecting; messages keep flowing', async () => {
      broker = await startChallengeBroker({ key: KEY, rounds: 1 });
      const { auth, nonces, verified } = challengeAuth(KEY);
      const client = await connect(broker.url, { auth, reconnect: false });
      await client.reauthenticate();
      await client.reauthenticate();
      expect(verified()).toBe(3);
      expect(nonces).toHaveLength(3);
      expect(broker.connections).toHaveLength(1);
      const sent = types(broker.connections[0] as Packet[]);
      expect(sent.filter((t) => t === 'auth:25')).toHaveLength(2);
      await expect(client.publish('a/b', 'after', { qos: 1 })).resolves.toMatchObject({ reasonCode: 0 });
      expect(client.status).toBe('connected');
      await client.disconnect();
    });

    it('a refused re-authentication (broker DISCONNECT 0x87) rejects the call and reports the reason', async () => {
      broker = await startChallengeBroker({ key: KEY, rounds: 1 });
      let key = KEY;
      const client = await connect(broker.url, { auth: challengeAuth(() => key).auth, reconnect: false });
      const disconnected = new Promise<number | undefined>((resolve) =>
        client.on('disconnect', (e) => resolve(e.reasonCode)),
      );
      key = 'rotated-away';
      const err = await client.reauthenticate().catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/by the broker \(reason code 0x87\): re-authentication did not complete/);
      expect((err as MqttDisconnectedError).reasonCode).toBe(0x87);
      expect(await disconnected).toBe(0x87);
    });

    it('a wrong server proof in the AUTH success is rejected by onSuccess; the call rejects', async () => {
      // The broker signs with another key; the client only starts checking after the first connect.
      broker = await startChallengeBroker({ key: KEY, rounds: 1, serverKey: 'impostor' });
      const { auth } = challengeAuth(KEY);
      let checking = false;
      const client = await connect(broker.url, {
        auth: { ...auth, onSuccess: (data) => checking && auth.onSuccess?.(data) },
        reconnect: false,
      });
      checking = true;
      await expect(client.reauthenticate()).rejects.toThrow(/rejected the broker in onSuccess/);
      await client.disconnect();
    });

    it('the link drops while auth.data is pending: the call rejects, never as an unhandled rejection', async () => {
      broker = await startChallengeBroker({ key: KEY, rounds: 1 });
      const held = heldData(challengeAuth(KEY).auth);
      const client = await connect(broker.url, { auth: held.auth, reconnect: false });
      let outcome: unknown;
      const unhandled = await unhandledRejectionsDuring(async () => {
        held.holdNext();
        const call = client.reauthenticate();
        await settlesWithin(held.asked, 5000, 'auth.data() of the re-authentication');
        // The link drops while the re-authentication still waits for auth.data(): it fails there, and Node
        // reports a rejection nobody observes yet at the end of that turn, before the call could return it.
        const lost = nextEvent(client, 'disconnect');
        broker?.cutAll();
        await settlesWithin(lost, 5000, 'the disconnect');
        // auth.data() (a token fetched over the network) answers in a later turn, not in this one.
        await new Promise<void>((resolve) => setImmediate(resolve));
        held.release();
        outcome = await settlesWithin(call, 5000, 'reauthenticate()').catch((e: unknown) => e);
      });
      expect(unhandled).toEqual([]);
      expect(outcome).toBeInstanceOf(MqttDisconnectedError);
    });

    it('auth.data resolving after a reconnect sends nothing on the new link (no AUTH 0x19 nobody waits for)', async () => {
      broker = await startChallengeBroker({ key: KEY, rounds: 1 });
      const held = heldData(challengeAuth(KEY).auth);
      const client = await connect(broker.url, { auth: held.auth, reconnect: { initialDelay: 10, maxDelay: 100 } });
      try {
        held.holdNext();
        const outcome = client.reauthenticate().then(
          () => undefined,
          (e: unknown) => e,
        );
        await settlesWithin(held.asked, 5000, 'auth.data() of the re-authentication');
        const back = nextEvent(client, 'connect');
        broker.cutAll();
        await settlesWithin(back, 10_000, 'the reconnect');
        held.release();
        expect(await settlesWithin(outcome, 5000, 'reauthenticate()')).toBeInstanceOf(MqttDisconnectedError);
        // Sentinel: the PUBACK comes after the broker read everything sent before it on this link.
        await client.publish('a/b', 'sentinel', { qos: 1 });
        expect(broker.connections).toHaveLength(2);
        expect(types(broker.connections[1] as Packet[])).not.toContain('auth:25');
        expect(client.status).toBe('connected');
      } finally {
        await client.disconnect();
      }
    });

    it('without options.auth, or when auth.data throws, reauthenticate() rejects; the next one works', async () => {
      broker = await startChallengeBroker({ key: KEY, rounds: 1 });
      const client = await connect(broker.url, { auth: challengeAuth(KEY).auth, reconnect: false });
      const saved = client.options.auth;
      client.options.auth = undefined;
      await expect(client.reauthenticate()).rejects.toThrow(/needs options\.auth/);
      client.options.auth = {
        ...(saved as NonNullable<typeof saved>),
        data: () => {
          throw new Error('no token');
        },
      };
      await expect(client.reauthenticate()).rejects.toThrow(/auth\.data threw/);
      client.options.auth = saved;
      await expect(client.reauthenticate()).resolves.toBeUndefined();
      await client.disconnect();
    });
  });
});
