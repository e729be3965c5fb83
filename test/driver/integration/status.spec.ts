/**
 * `client.status` through a link loss (scripted fake broker). 'disconnected' is the state right after the link
 * went down — the 'disconnect' event is emitted in it — before the client either reconnects ('reconnecting') or
 * stops for good ('closed').
 */
import { describe, expect, it } from '@jest/globals';
import { type ClientStatus, connect, type MqttClient, type MqttClientOptions } from '../../../lib/driver/index.js';
import { type FakeConnection, useFakeBroker } from '../../support/fake-broker.js';
import { nextEvent, settlesWithin, until } from '../../support/messages.js';

const broker = useFakeBroker();

interface Recorded {
  client: MqttClient;
  conn: FakeConnection;
  statuses: ClientStatus[];
  /** `client.status` as seen by each 'disconnect' listener call. */
  statusAtDisconnect: ClientStatus[];
}

async function recorded(options: MqttClientOptions): Promise<Recorded> {
  const pending = connect(broker.url, { keepalive: 0, ...options });
  const conn = await broker.nextConnection();
  await conn.handshake();
  const client = await pending;
  const statuses: ClientStatus[] = [];
  const statusAtDisconnect: ClientStatus[] = [];
  client.on('status', (s) => statuses.push(s));
  client.on('disconnect', () => statusAtDisconnect.push(client.status));
  expect(client.status).toBe('connected');
  return { client, conn, statuses, statusAtDisconnect };
}

describe('client.status through a link loss', () => {
  it('with reconnect: connected → disconnected → reconnecting → connected', async () => {
    const r = await recorded({ reconnect: { initialDelay: 10 } });
    try {
      r.conn.close();
      const conn2 = await broker.nextConnection();
      expect(r.client.status).toBe('reconnecting');
      const back = nextEvent(r.client, 'connect');
      await conn2.handshake();
      await settlesWithin(back, 5000, 'the reconnect');
      expect(r.statuses).toEqual(['disconnected', 'reconnecting', 'connected']);
      expect(r.statusAtDisconnect).toEqual(['disconnected']);
    } finally {
      await r.client.disconnect();
    }
  });

  it('with reconnect: false: connected → disconnected → closed', async () => {
    const r = await recorded({ reconnect: false });
    r.conn.close();
    await until(() => r.client.status === 'closed', 5000, 'the client closing');
    expect(r.statuses).toEqual(['disconnected', 'closed']);
    expect(r.statusAtDisconnect).toEqual(['disconnected']);
    // Nothing tries to connect again: an attempt is only ever made from 'reconnecting' (first test), which the
    // statuses above exclude, and 'closed' is final (no timer is left to wait out).
    expect(broker.connections).toHaveLength(1);
  });

  it('reconnect gives up after maxAttempts: … → reconnecting → closed', async () => {
    const r = await recorded({ reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 2 } });
    r.conn.close();
    for (let i = 0; i < 2; i++) {
      const c = await broker.nextConnection();
      await c.handshake({ reasonCode: 0x88 }); // Server unavailable: retried
    }
    await until(() => r.client.status === 'closed', 5000, 'the client giving up');
    expect(r.statuses).toEqual(['disconnected', 'reconnecting', 'closed']);
  });

  it('disconnect(): connected → disconnected → closed; while reconnecting: reconnecting → closed', async () => {
    const r = await recorded({ reconnect: { initialDelay: 10 } });
    await r.client.disconnect();
    expect(r.statuses).toEqual(['disconnected', 'closed']);
    expect(r.statusAtDisconnect).toEqual(['disconnected']);

    const s = await recorded({ reconnect: { initialDelay: 10 } });
    s.conn.close();
    await broker.nextConnection(); // the reconnect attempt, never answered
    await s.client.disconnect();
    expect(s.statuses).toEqual(['disconnected', 'reconnecting', 'closed']);
  });
});
