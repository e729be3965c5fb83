/**
 * ClientMqttAsync bounds on a scripted broker: an emit the broker never confirms on a live link, the cap on calls
 * waiting for the link, and a client whose reconnecting gave up.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { lastValueFrom } from 'rxjs';
import { ClientMqttAsync, MqttAsyncNotConnectedError, MqttAsyncPublishTimeoutError } from '../../../lib/nest/index.js';
import { type FakeBroker, startFakeBroker } from '../../support/fake-broker.js';
import { settleWithin, waitUntil } from '../../support/settle.js';

const HANG_MS = 5000;

describe('ClientMqttAsync bounds (scripted broker)', () => {
  let fake: FakeBroker | undefined;
  let client: ClientMqttAsync | undefined;
  afterEach(async () => {
    await client?.close();
    await fake?.stop();
  });

  /** A broker that accepts and grants subscriptions, and never acknowledges a publish. */
  async function silentBroker(): Promise<FakeBroker> {
    return startFakeBroker(async (conn) => {
      await conn.handshake();
      for (;;) {
        const sub = await conn.next('subscribe', 60_000);
        conn.send({ type: 'suback', packetId: sub.packetId, reasonCodes: sub.subscriptions.map((s) => s.qos) });
      }
    });
  }

  it('a QoS 1 emit() the broker never confirms fails with MqttAsyncPublishTimeoutError after publishTimeout', async () => {
    fake = await silentBroker();
    client = new ClientMqttAsync({ url: fake.url, publishTimeout: 300 });
    await client.connect();
    const { error } = await settleWithin(lastValueFrom(client.emit('events/x', 1)), HANG_MS, 'emit()');
    expect(error).toBeInstanceOf(MqttAsyncPublishTimeoutError);
    expect((error as Error).message).toMatch(/did not confirm emit\('events\/x'\) within 300 ms \(publishTimeout\)/);
    expect(fake.connections[0]?.received.some((p) => p.type === 'publish' && p.topic === 'events/x')).toBe(true);
  });

  it('beyond offlineQueueSize, calls waiting for the link fail at once', async () => {
    fake = await silentBroker();
    client = new ClientMqttAsync({ url: fake.url, offlineQueueSize: 2, publishTimeout: 2000, requestTimeout: 2000 });
    const statuses: string[] = [];
    client.status.subscribe((s) => statuses.push(s));
    await client.connect();
    await fake.stop(); // the link drops and reconnecting finds nobody
    await waitUntil(() => statuses.at(-1) === 'reconnecting', HANG_MS, 'reconnecting');
    const waiting = [lastValueFrom(client.emit('events/a', 1)), lastValueFrom(client.send('rpc/b', 1))];
    for (const w of waiting) w.catch(() => undefined);
    const { error, ms } = await settleWithin(lastValueFrom(client.emit('events/c', 1)), HANG_MS, 'emit()');
    expect(error).toBeInstanceOf(MqttAsyncNotConnectedError);
    expect((error as Error).message).toMatch(/offlineQueueSize \(2\)/);
    expect(ms).toBeLessThan(2000); // at once, not after its publishTimeout
  });

  it('after reconnecting gave up, send() and emit() fail at once naming the closed state', async () => {
    fake = await silentBroker();
    client = new ClientMqttAsync({ url: fake.url, reconnect: { maxAttempts: 1 }, requestTimeout: 3000 });
    const statuses: string[] = [];
    client.status.subscribe((s) => statuses.push(s));
    await client.connect();
    await fake.stop();
    await waitUntil(() => statuses.at(-1) === 'closed', HANG_MS, 'closed');
    for (const call of [lastValueFrom(client.send('rpc/x', 1)), lastValueFrom(client.emit('events/x', 1))]) {
      const { error, ms } = await settleWithin(call, HANG_MS, 'call');
      expect(error).toBeInstanceOf(MqttAsyncNotConnectedError);
      expect((error as MqttAsyncNotConnectedError).status).toBe('closed');
      expect(ms).toBeLessThan(3000); // at once, not after requestTimeout
    }
  });
});
