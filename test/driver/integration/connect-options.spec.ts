/**
 * Connect-time and close-time options that only show on the wire or in how the link is opened: a custom
 * `transport` factory (against aedes), CONNECT user properties, and what `disconnect()` sends (fake broker).
 */
import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { ConnectPacket, DisconnectPacket } from '../../../lib/driver/codec/packets.js';
import {
  connect,
  MqttConnectError,
  MqttError,
  type MqttTransportStream,
  type TransportFactory,
} from '../../../lib/driver/index.js';
import { connectClient, VERSIONS } from '../../hostile/harness.js';
import { startAedes } from '../../support/aedes.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { nextEvent, settlesWithin, take } from '../../support/messages.js';

for (const version of VERSIONS) {
  describe(`v${version}: a custom transport factory (aedes ${version === 5 ? '2 beta' : '1.x'})`, () => {
    it('opens every (re)connect; pub/sub works over it; the URL scheme is the factory’s business', async () => {
      const aedes = await startAedes({ version });
      const calls: { url: string; clientId: string | undefined }[] = [];
      const sockets: net.Socket[] = [];
      const transport: TransportFactory = (url, options) =>
        new Promise<MqttTransportStream>((resolve, reject) => {
          calls.push({ url: url.href, clientId: options.clientId });
          const socket = net.connect(aedes.port, '127.0.0.1');
          sockets.push(socket);
          socket.once('connect', () => resolve(socket));
          socket.once('error', reject);
        });
      const client = await connect('tunnel://broker.invalid/mqtt', {
        protocolVersion: version,
        clientId: `transport-${version}`,
        transport,
        reconnect: { initialDelay: 20, maxDelay: 50 },
      });
      try {
        expect(calls).toEqual([{ url: 'tunnel://broker.invalid/mqtt', clientId: `transport-${version}` }]);
        const sub = await client.subscribe('transport/t', { qos: 1 });
        await client.publish('transport/t', 'over the factory', { qos: 1 });
        expect((await take(sub, 1))[0]?.payload.toString()).toBe('over the factory');

        // The link drops: the reconnect goes through the factory again, and the Subscription keeps working.
        const back = nextEvent(client, 'connect');
        sockets[0]?.destroy();
        await settlesWithin(back, 10_000, 'the reconnect');
        expect(calls).toHaveLength(2);
        await client.publish('transport/t', 'after the reconnect', { qos: 1 });
        expect((await take(sub, 1))[0]?.payload.toString()).toBe('after the reconnect');
      } finally {
        await client.disconnect();
        await aedes.stop();
      }
    });
  });
}

it('a transport factory that rejects: connect() rejects with MqttConnectError carrying the cause', async () => {
  const cause = new Error('tunnel refused');
  const error = await connect('tunnel://nowhere', { transport: () => Promise.reject(cause), reconnect: false }).catch(
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MqttConnectError);
  expect((error as Error).message).toMatch(/tunnel refused/);
  expect((error as Error).cause).toBe(cause);
});

const broker = useFakeBroker();

describe('v5: CONNECT user properties', () => {
  it('pairs are sent in order, repeated names kept; again on the reconnect', async () => {
    const userProperties: [string, string][] = [
      ['region', 'eu-west'],
      ['tier', 'gold'],
      ['region', 'eu-north'],
      ['ünïcode', '✓'],
    ];
    const pending = connect(broker.url, { userProperties, reconnect: { initialDelay: 10 }, keepalive: 0 });
    const first = await broker.nextConnection();
    const connect1 = await first.handshake();
    const client = await pending;
    try {
      expect(connect1.properties?.userProperties).toEqual(userProperties);
      first.close();
      const second = await broker.nextConnection();
      const connect2 = await second.handshake();
      expect(connect2.properties?.userProperties).toEqual(userProperties);
    } finally {
      await client.disconnect();
    }
  });

  it('a record is sent in its key order', async () => {
    const w = await connectClient(broker, 5, { userProperties: { zeta: '1', alpha: '2', mid: '3' } });
    const c = w.conn.received.find((p): p is ConnectPacket => p.type === 'connect');
    expect(c?.properties?.userProperties).toEqual([
      ['zeta', '1'],
      ['alpha', '2'],
      ['mid', '3'],
    ]);
    await w.client.disconnect();
  });

  it('v4: 3.1.1 has no CONNECT properties; none are sent', async () => {
    const w = await connectClient(broker, 4, { userProperties: [['a', 'b']] });
    const c = w.conn.received.find((p): p is ConnectPacket => p.type === 'connect');
    expect(c?.protocolVersion).toBe(4);
    expect(c?.properties).toBeUndefined();
    await w.client.disconnect();
  });
});

describe('disconnect()', () => {
  it('v5: the DISCONNECT carries reasonCode, sessionExpiryInterval and reasonString; a second call sends nothing', async () => {
    const w = await connectClient(broker, 5, { sessionExpiryInterval: 60 });
    await w.client.disconnect({ reasonCode: 0x04, sessionExpiryInterval: 300, reasonString: 'bye' });
    await settlesWithin(w.conn.closed, 5000, 'the socket closing');
    const sent = w.conn.received.filter((p): p is DisconnectPacket => p.type === 'disconnect');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.reasonCode).toBe(0x04);
    expect(sent[0]?.properties?.sessionExpiryInterval).toBe(300);
    expect(sent[0]?.properties?.reasonString).toBe('bye');
    expect(w.client.status).toBe('closed');
    await expect(w.client.disconnect({ reasonCode: 0x80 })).resolves.toBeUndefined();
    expect(w.conn.received.filter((p) => p.type === 'disconnect')).toHaveLength(1);
  });

  it('v5: two concurrent calls send one DISCONNECT and both resolve once the link is closed', async () => {
    const w = await connectClient(broker, 5);
    const [a, b] = [w.client.disconnect({ reasonCode: 0 }), w.client.disconnect({ reasonCode: 0x04 })];
    await settlesWithin(Promise.all([a, b]), 5000, 'both disconnect() calls');
    expect(w.client.status).toBe('closed');
    await settlesWithin(w.conn.closed, 5000, 'the socket closing');
    const sent = w.conn.received.filter((p): p is DisconnectPacket => p.type === 'disconnect');
    expect(sent.map((p) => p.reasonCode)).toEqual([0]);
  });

  it('v5: no properties when none are given (reason code 0 only)', async () => {
    const w = await connectClient(broker, 5);
    await w.client.disconnect();
    await settlesWithin(w.conn.closed, 5000, 'the socket closing');
    const sent = w.conn.received.filter((p): p is DisconnectPacket => p.type === 'disconnect');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.reasonCode ?? 0).toBe(0);
    expect(sent[0]?.properties?.sessionExpiryInterval).toBeUndefined();
  });

  it('v5: a non-zero sessionExpiryInterval after connecting with 0 is refused before any I/O (3.14.2.2.2: the broker would treat the DISCONNECT as a protocol error)', async () => {
    const w = await connectClient(broker, 5);
    const error = await w.client.disconnect({ sessionExpiryInterval: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MqttError);
    expect((error as MqttError).reasonCode).toBe(0x82);
    expect((error as Error).message).toMatch(/sessionExpiryInterval/);
    expect(w.client.status).toBe('connected');
    expect(w.conn.received.filter((p) => p.type === 'disconnect')).toEqual([]);
    await w.client.disconnect({ sessionExpiryInterval: 0 });
    const sent = w.conn.received.filter((p): p is DisconnectPacket => p.type === 'disconnect');
    expect(sent.map((p) => p.properties?.sessionExpiryInterval)).toEqual([0]);
  });

  it('v4: a plain DISCONNECT (3.1.1 has no reason code or properties), sent once', async () => {
    const w = await connectClient(broker, 4);
    await Promise.all([w.client.disconnect({ reasonCode: 0x04, sessionExpiryInterval: 300 }), w.client.disconnect()]);
    await settlesWithin(w.conn.closed, 5000, 'the socket closing');
    const sent = w.conn.received.filter((p): p is DisconnectPacket => p.type === 'disconnect');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.reasonCode).toBeUndefined();
    expect(sent[0]?.properties).toBeUndefined();
  });
});
