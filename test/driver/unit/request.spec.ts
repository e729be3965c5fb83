/**
 * The driver's request/response (`Requests`) without a network: it works on any client's public interface, so a
 * fake client records publishes and hands out Subscriptions the test feeds replies into.
 */
import { describe, expect, it } from '@jest/globals';
import type { ProtocolVersion, PublishPacket } from '../../../lib/driver/codec/packets.js';
import {
  MqttDisconnectedError,
  MqttError,
  MqttTimeoutError,
  MqttTooManyRequestsError,
} from '../../../lib/driver/errors.js';
import { InboundMessage } from '../../../lib/driver/message.js';
import { Requests } from '../../../lib/driver/request.js';
import { MessageSubscription } from '../../../lib/driver/subscription.js';
import type { ClientStatus, PublishOptions, SubscribeOptions } from '../../../lib/driver/types.js';
import { eventually } from '../../support/eventually.js';

interface Published {
  topic: string;
  payload: Uint8Array | string;
  options: PublishOptions;
}

class FakeClient {
  status: ClientStatus = 'connected';
  readonly published: Published[] = [];
  readonly subscriptions: { filters: string[]; options: SubscribeOptions; sub: MessageSubscription }[] = [];
  constructor(readonly protocolVersion: ProtocolVersion = 5) {}
  async publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}) {
    this.published.push({ topic, payload, options });
    return { reasonCode: 0 };
  }
  async subscribe(filter: string | string[], options: SubscribeOptions = {}) {
    const filters = Array.isArray(filter) ? filter : [filter];
    const sub = new MessageSubscription(
      filters,
      100,
      undefined,
      async () => undefined,
      () => undefined,
    );
    this.subscriptions.push({ filters, options, sub });
    return sub;
  }
  /** Delivers a reply on the first subscription to `topic`. */
  reply(topic: string, payload: string, correlationData?: Buffer): void {
    const packet: PublishPacket = {
      type: 'publish',
      topic,
      qos: 0,
      retain: false,
      dup: false,
      payload: Buffer.from(payload),
      properties: correlationData ? { correlationData } : undefined,
    };
    const s = this.subscriptions.find((x) => x.filters.includes(topic));
    if (!s) throw new Error(`nobody subscribed to ${topic}`);
    s.sub.push(new InboundMessage(packet, undefined, this.protocolVersion));
  }
}

/** Polls without a timer interval: these tests run on fake connections that settle within a few ticks. */
const until = (predicate: () => boolean, timeoutMs = 2000) => eventually(predicate, 'the condition', timeoutMs, 0);

describe('Requests (no network)', () => {
  it('MQTT 5: subscribes once to <prefix>/responses, publishes with Response Topic and Correlation Data', async () => {
    const client = new FakeClient();
    const requests = new Requests(client, 'pfx', { maxPendingRequests: 10_000 });
    const first = requests.request('svc/a', 'one', { timeout: 5000 });
    const second = requests.request('svc/b', 'two', { timeout: 5000 });
    await until(() => client.published.length === 2);
    expect(client.subscriptions.map((s) => s.filters)).toEqual([['pfx/responses']]);
    const [a, b] = client.published;
    expect(a?.options.properties?.responseTopic).toBe('pfx/responses');
    // answered out of order: matched by correlation data, not arrival
    client.reply('pfx/responses', 'for b', b?.options.properties?.correlationData);
    client.reply('pfx/responses', 'for a', a?.options.properties?.correlationData);
    expect((await first).payload.toString()).toBe('for a');
    expect((await second).payload.toString()).toBe('for b');
  });

  it("the broker's Response Information prefixes the response topic", async () => {
    const client = new FakeClient();
    const requests = new Requests(client, 'pfx', { maxPendingRequests: 10_000 });
    requests.onConnected('resp/info//');
    const done = requests.request('svc', 'x', { timeout: 5000 });
    await until(() => client.published.length === 1);
    expect(client.subscriptions[0]?.filters).toEqual(['resp/info/pfx']);
    client.reply('resp/info/pfx', 'ok', client.published[0]?.options.properties?.correlationData);
    await done;
  });

  it('maxPendingRequests bounds waiting requests: one more rejects with 0x97, nothing sent', async () => {
    const client = new FakeClient();
    const requests = new Requests(client, 'pfx', { maxPendingRequests: 1 });
    const first = requests.request('svc', 'x', { timeout: 5000 });
    await expect(requests.request('svc', 'y', {})).rejects.toMatchObject({
      constructor: MqttTooManyRequestsError,
      reasonCode: 0x97,
    });
    requests.rejectAll('done');
    await expect(first).rejects.toBeInstanceOf(MqttDisconnectedError);
  });

  it('while not connected it waits; it times out unsent, and is never sent later', async () => {
    const client = new FakeClient();
    client.status = 'reconnecting';
    const requests = new Requests(client, 'pfx', { maxPendingRequests: 10_000 });
    await expect(requests.request('svc', 'x', { timeout: 20 })).rejects.toBeInstanceOf(MqttTimeoutError);
    client.status = 'connected';
    requests.onConnected(undefined);
    await new Promise((r) => setImmediate(r));
    expect(client.published).toEqual([]);
  });

  it('a request waiting for the connection goes out when the client connects', async () => {
    const client = new FakeClient();
    client.status = 'reconnecting';
    const requests = new Requests(client, 'pfx', { maxPendingRequests: 10_000 });
    const done = requests.request('svc', 'x', { timeout: 5000 });
    await new Promise((r) => setImmediate(r));
    expect(client.subscriptions).toEqual([]);
    client.status = 'connected';
    requests.onConnected(undefined);
    await until(() => client.published.length === 1);
    client.reply('pfx/responses', 'ok', client.published[0]?.options.properties?.correlationData);
    expect((await done).payload.toString()).toBe('ok');
  });

  it('rejectAll() rejects requests sent and requests waiting for the connection', async () => {
    const client = new FakeClient();
    const requests = new Requests(client, 'pfx', { maxPendingRequests: 10_000 });
    const sent = requests.request('svc', 'x', { timeout: 5000 });
    await until(() => client.published.length === 1);
    client.status = 'reconnecting';
    const waiting = requests.request('svc', 'y', { timeout: 5000 });
    requests.rejectAll('Client disconnected');
    await expect(sent).rejects.toBeInstanceOf(MqttDisconnectedError);
    await expect(waiting).rejects.toBeInstanceOf(MqttDisconnectedError);
  });

  it('a closed client rejects at once', async () => {
    const client = new FakeClient();
    client.status = 'closed';
    await expect(
      new Requests(client, 'pfx', { maxPendingRequests: 10_000 }).request('svc', 'x', {}),
    ).rejects.toBeInstanceOf(MqttDisconnectedError);
  });

  it('MQTT 3.1.1: needs responseTopic; the first message there is the reply, then it unsubscribes', async () => {
    const client = new FakeClient(4);
    const requests = new Requests(client, 'pfx', { maxPendingRequests: 10_000 });
    await expect(requests.request('svc', 'x', {})).rejects.toBeInstanceOf(MqttError);
    expect(client.published).toEqual([]);
    const done = requests.request('svc', 'x', { responseTopic: 'replies', timeout: 5000 });
    await until(() => client.published.length === 1);
    client.reply('replies', 'ok');
    expect((await done).payload.toString()).toBe('ok');
    expect(client.subscriptions[0]?.sub.isEnded).toBe(true);
  });
});
