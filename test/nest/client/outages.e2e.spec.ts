/**
 * ClientMqttAsync while its link to the broker is down (mosquitto behind a proxy that can refuse connections):
 * no send() or emit() stays pending past its bound, errors name the connection state, and what timed out while
 * offline is never sent later (proved with a sentinel sent after the reconnect).
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { lastValueFrom } from 'rxjs';
import { connect, type MqttClient, type MqttMessage } from '../../../lib/driver/index.js';
import {
  ClientMqttAsync,
  MqttAsyncNotConnectedError,
  MqttAsyncRecord,
  MqttAsyncRequestTimeoutError,
} from '../../../lib/nest/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { type OutageProxy, startOutageProxy } from '../../support/outage-proxy.js';
import { settleWithin, waitUntil } from '../../support/settle.js';

/** Short bounds, so each case shows the bound running out; HANG_MS only detects a hang. */
const BOUND_MS = 400;
const HANG_MS = 5000;

describeMosquitto('ClientMqttAsync during broker outages (mosquitto)', () => {
  let broker: MosquittoHandle;
  let proxy: OutageProxy;
  /** Connected straight to the broker (never cut): answers rpc/echo, records every message under rpc/ and events/. */
  let peer: MqttClient;
  const seen: MqttMessage[] = [];
  let client: ClientMqttAsync;
  const statuses: string[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    peer = await connect(broker.url, { protocolVersion: 5 });
    const sub = await peer.subscribe(['rpc/#', 'events/#'], { qos: 1 });
    void (async () => {
      for await (const m of sub) {
        seen.push(m);
        const { responseTopic, correlationData } = m.properties;
        if (m.topic === 'rpc/echo' && responseTopic) {
          await peer.publish(responseTopic, m.payload, { qos: 1, properties: { correlationData } });
        }
      }
    })();
  });

  afterAll(async () => {
    await peer?.disconnect();
    await broker?.stop();
  });

  beforeEach(async () => {
    proxy = await startOutageProxy(broker.port);
    statuses.length = 0;
    seen.length = 0;
    client = new ClientMqttAsync({
      url: proxy.url,
      requestTimeout: BOUND_MS,
      publishTimeout: BOUND_MS,
      reconnect: { initialDelay: 20, maxDelay: 100 },
    });
    client.status.subscribe((s) => statuses.push(s));
    await client.connect();
  });

  afterEach(async () => {
    await client.close();
    await proxy.stop();
  });

  const status = () => statuses.at(-1);

  async function outage(): Promise<void> {
    proxy.down();
    await waitUntil(() => status() === 'reconnecting', HANG_MS, 'reconnecting');
  }

  async function restore(): Promise<void> {
    proxy.up();
    await waitUntil(() => status() === 'connected', HANG_MS, 'reconnected');
  }

  /** Proves nothing but the sentinel reached the broker since `from`: sends it and waits for it. */
  async function onlySentinelArrives(from: number): Promise<void> {
    await lastValueFrom(client.emit('events/sentinel', 1));
    await waitUntil(() => seen.some((m) => m.topic === 'events/sentinel'), HANG_MS, 'the sentinel');
    expect(seen.slice(from).map((m) => m.topic)).toEqual(['events/sentinel']);
  }

  function expectNotConnected(error: unknown): void {
    expect(error).toBeInstanceOf(MqttAsyncNotConnectedError);
    const err = error as MqttAsyncNotConnectedError;
    expect(err.status).toBe('reconnecting');
    expect(err.message).toContain(`not connected to ${proxy.url} (status 'reconnecting')`);
    expect(err.message).not.toMatch(/check that a server handles it/);
  }

  it('send() while reconnecting fails within requestTimeout naming the state, and is never sent later', async () => {
    await outage();
    const { error } = await settleWithin(lastValueFrom(client.send('rpc/echo', 1)), HANG_MS, 'send()');
    expectNotConnected(error);
    const from = seen.length;
    await restore();
    await onlySentinelArrives(from);
  });

  it('send() during a short outage waits for the link and gets its reply', async () => {
    await outage();
    const reply = settleWithin(lastValueFrom(client.send('rpc/echo', { n: 7 })), HANG_MS, 'send()');
    proxy.up();
    expect((await reply).value).toEqual({ n: 7 });
  });

  it('a send() in flight when the link drops fails within requestTimeout: not connected while the link is down', async () => {
    const sending = settleWithin(lastValueFrom(client.send('rpc/silent', 1)), HANG_MS, 'send()');
    await waitUntil(() => seen.some((m) => m.topic === 'rpc/silent'), HANG_MS, 'the request');
    await outage();
    expectNotConnected((await sending).error);
  });

  it('a send() in flight when the link drops and comes back fails within requestTimeout saying the link was lost', async () => {
    const sending = settleWithin(lastValueFrom(client.send('rpc/silent', 1)), HANG_MS, 'send()');
    await waitUntil(() => seen.some((m) => m.topic === 'rpc/silent'), HANG_MS, 'the request');
    await outage();
    await restore();
    const { error } = await sending;
    expect(error).toBeInstanceOf(MqttAsyncRequestTimeoutError);
    expect((error as Error).message).toMatch(/connection to the broker was lost meanwhile/);
  });

  it('a QoS 1 emit() during an outage longer than publishTimeout fails naming the state, and is never sent later', async () => {
    await outage();
    const { error } = await settleWithin(lastValueFrom(client.emit('events/late', 1)), HANG_MS, 'emit()');
    expectNotConnected(error);
    expect((error as Error).message).toMatch(/not sent within 400 ms \(publishTimeout\)/);
    const from = seen.length;
    await restore();
    await onlySentinelArrives(from);
  });

  it('a QoS 1 emit() during a short outage is delivered after the reconnect', async () => {
    await outage();
    const emitting = settleWithin(lastValueFrom(client.emit('events/queued', { n: 1 })), HANG_MS, 'emit()');
    proxy.up();
    const { value, error } = await emitting;
    expect(error).toBeUndefined();
    expect(value).toMatchObject({ reasonCode: 0 });
    await waitUntil(() => seen.some((m) => m.topic === 'events/queued'), HANG_MS, 'the event');
  });

  it('a QoS 0 emit() while reconnecting is rejected at once', async () => {
    await outage();
    const record = new MqttAsyncRecord({ n: 1 }, { qos: 0 });
    const { error } = await settleWithin(lastValueFrom(client.emit('events/qos0', record)), HANG_MS, 'emit()');
    expectNotConnected(error);
    expect((error as Error).message).toMatch(/QoS 0 emit\('events\/qos0'\) dropped/);
  });
});
