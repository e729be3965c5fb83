/**
 * `client.ping()`: a PINGREQ → PINGRESP round trip in ms, with a bounded wait and typed errors. Scripted fake
 * broker for the failure cases (no answer, link lost, closed), mosquitto for the real round trip on both
 * versions, and the in-memory client behind the same interface.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  connect,
  type MqttClient,
  MqttDisconnectedError,
  MqttError,
  MqttTimeoutError,
} from '../../../lib/driver/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

describe('client.ping() against a scripted broker', () => {
  const broker = useFakeBroker();

  async function connected(): Promise<{ client: MqttClient; conn: Awaited<ReturnType<typeof broker.nextConnection>> }> {
    const pending = connect(broker.url, { keepalive: 0, reconnect: false });
    const conn = await broker.nextConnection();
    await conn.handshake();
    return { client: await pending, conn };
  }

  it('sends a PINGREQ and resolves with the round trip in ms when the PINGRESP arrives', async () => {
    const { client, conn } = await connected();
    try {
      const rtt = client.ping();
      await conn.next('pingreq');
      conn.send({ type: 'pingresp' });
      const ms = await settlesWithin(rtt, 5000, 'ping');
      expect(typeof ms).toBe('number');
      expect(ms).toBeGreaterThanOrEqual(0);
    } finally {
      await client.disconnect();
    }
  });

  it('rejects with MqttTimeoutError (an MqttError) when no PINGRESP comes within the timeout', async () => {
    const { client, conn } = await connected();
    try {
      const rtt = client.ping({ timeout: 100 });
      await conn.next('pingreq');
      const err = await settlesWithin(
        rtt.then(
          () => undefined,
          (e: unknown) => e,
        ),
        5000,
        'ping timeout',
      );
      expect(err).toBeInstanceOf(MqttTimeoutError);
      expect(err).toBeInstanceOf(MqttError);
      expect((err as Error).message).toMatch(/No PINGRESP within 100 ms/);
      // A late PINGRESP after the timeout is harmless.
      conn.send({ type: 'pingresp' });
      const next = client.ping();
      await conn.next('pingreq');
      conn.send({ type: 'pingresp' });
      await expect(settlesWithin(next, 5000, 'second ping')).resolves.toBeGreaterThanOrEqual(0);
    } finally {
      await client.disconnect();
    }
  });

  it('rejects with MqttDisconnectedError when the link goes down while it waits', async () => {
    const { client, conn } = await connected();
    const rtt = client.ping({ timeout: 60_000 });
    await conn.next('pingreq');
    conn.close();
    await expect(settlesWithin(rtt, 5000, 'ping on a lost link')).rejects.toBeInstanceOf(MqttDisconnectedError);
  });

  it('rejects at once with MqttDisconnectedError when the client is closed', async () => {
    const { client, conn } = await connected();
    await client.disconnect();
    await expect(settlesWithin(client.ping(), 1000, 'ping when closed')).rejects.toBeInstanceOf(MqttDisconnectedError);
    expect(conn.received.filter((p) => p.type === 'pingreq')).toHaveLength(0);
  });
});

describeMosquitto.each([5, 4] as const)('client.ping() on mosquitto (protocol %s)', (version) => {
  let mosquitto: MosquittoHandle;
  let client: MqttClient;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
    client = await connect(mosquitto.url, { protocolVersion: version, reconnect: false });
  });
  afterAll(async () => {
    await client?.disconnect();
    await mosquitto?.stop();
  });

  it('resolves with the round trip in ms, several at once too', async () => {
    const one = await client.ping({ timeout: 5000 });
    expect(one).toBeGreaterThan(0);
    const many = await Promise.all([client.ping(), client.ping(), client.ping()]);
    for (const ms of many) expect(ms).toBeGreaterThan(0);
  });

  it('rejects with MqttDisconnectedError once the broker is gone', async () => {
    await mosquitto.stop();
    await expect(settlesWithin(client.ping({ timeout: 2000 }), 5000, 'ping')).rejects.toBeInstanceOf(
      MqttDisconnectedError,
    );
  });
});

describe('ping() on the in-memory client', () => {
  it('resolves while connected and rejects with MqttDisconnectedError once closed', async () => {
    const broker = new MqttAsyncTestBroker();
    const client = await broker.connect();
    try {
      await expect(client.ping()).resolves.toBeGreaterThanOrEqual(0);
      await client.disconnect();
      await expect(client.ping()).rejects.toBeInstanceOf(MqttDisconnectedError);
    } finally {
      await broker.close();
    }
  });
});
