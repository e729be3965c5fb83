/**
 * Normative statements the driver enforces locally (docs/conformance.md), checked on the wire against the
 * scripted fake broker, which decodes every packet the client writes with our codec independently of the client.
 */
import { describe, expect, it } from '@jest/globals';
import type { ConnectPacket, PublishPacket } from '../../../lib/driver/codec/packets.js';
import { connect, MqttConnectError, MqttInvalidTopicError } from '../../../lib/driver/index.js';
import { connectClient } from '../../hostile/harness.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin, take, until } from '../../support/messages.js';

const broker = useFakeBroker();

describe('MQTT-3.3.4-6: a client PUBLISH carries no Subscription Identifier', () => {
  it('republishing a received message with its properties strips subscriptionIdentifier, keeps the rest', async () => {
    const w = await connectClient(broker, 5);
    w.conn.autoRespond();
    const sub = await w.client.subscribe('fwd/in', { qos: 1 });
    const subscribe = await w.conn.next('subscribe');
    const id = subscribe.properties?.subscriptionIdentifier as number;
    w.conn.send({
      type: 'publish',
      topic: 'fwd/in',
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
      payload: Buffer.from('hello'),
      properties: { subscriptionIdentifier: [id], contentType: 'text/plain', userProperties: [['k', 'v']] },
    });
    const [m] = await take(sub, 1);
    expect(m?.properties.subscriptionIdentifier).toEqual([id]);
    // The natural forwarder / responder: echo the received properties. All three QoS take the same path.
    for (const qos of [0, 1, 2] as const) {
      await w.client.publish('fwd/out', m?.payload ?? '', { qos, properties: m?.properties });
    }
    const rpc = w.client.request('fwd/rpc', 'q', { properties: m?.properties, timeout: 10_000 }).catch(() => undefined);
    const published = () => w.conn.received.filter((p): p is PublishPacket => p.type === 'publish');
    await until(() => published().length === 4, 10_000, "the request's PUBLISH");
    const out = published();
    expect(out.map((p) => p.topic)).toEqual(['fwd/out', 'fwd/out', 'fwd/out', 'fwd/rpc']);
    for (const p of out) {
      expect(p.properties?.subscriptionIdentifier).toBeUndefined();
      expect(p.properties?.contentType).toBe('text/plain');
      expect(p.properties?.userProperties).toEqual([['k', 'v']]);
    }
    expect(w.conn.decodeError).toBeUndefined();
    await w.client.disconnect();
    await rpc;
  });
});

describe('MQTT-3.3.2-14: a Response Topic is a topic name', () => {
  it('one with a wildcard is refused locally with MqttInvalidTopicError; nothing is sent', async () => {
    const w = await connectClient(broker, 5);
    w.conn.autoRespond();
    for (const qos of [0, 1] as const) {
      await expect(
        w.client.publish('rt/out', 'x', { qos, properties: { responseTopic: 'replies/+' } }),
      ).rejects.toThrow(MqttInvalidTopicError);
    }
    await w.client.publish('rt/out', 'ok', { qos: 1, properties: { responseTopic: 'replies/me' } });
    const out = w.conn.received.filter((p): p is PublishPacket => p.type === 'publish');
    expect(out.map((p) => p.payload.toString())).toEqual(['ok']);
    await w.client.disconnect();
  });
});

describe('MQTT-4.7.0-1: the will is published under a topic name', () => {
  it('a will topic or will Response Topic with a wildcard is refused before any I/O', async () => {
    const wills = [
      { topic: 'wills/+', payload: 'x' },
      { topic: 'wills/me', payload: 'x', properties: { responseTopic: 'replies/#' } },
    ];
    for (const will of wills) {
      await expect(connect(broker.url, { will, reconnect: false })).rejects.toThrow(MqttInvalidTopicError);
    }
    expect(broker.connections).toHaveLength(0);
  });
});

describe('MQTT-3.1.3-7: MQTT 3.1.1 empty ClientId needs CleanSession 1', () => {
  it('connect({ clientId: "", cleanStart: false }) on 3.1.1 is refused locally: nothing is sent', async () => {
    const err = await connect(broker.url, { protocolVersion: 4, clientId: '', cleanStart: false, reconnect: false })
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/MQTT-3\.1\.3-7/);
    expect((err as Error).message).toMatch(/clientId/);
    expect((err as Error).message).toMatch(/cleanStart: true/);
    expect(broker.connections).toHaveLength(0);
  });

  it('the same options are fine on MQTT 5 (the broker assigns an identifier) and with a clientId on 3.1.1', async () => {
    const v5 = await connectClient(broker, 5, { clientId: '', cleanStart: false });
    await v5.client.disconnect();
    const v4 = await connectClient(broker, 4, { clientId: 'c1', cleanStart: false });
    expect((v4.conn.received[0] as ConnectPacket).cleanStart).toBe(false);
    await v4.client.disconnect();
  });

  it('3.1.1 with an empty ClientId reconnects with CleanSession 1 too', async () => {
    const w = await connectClient(broker, 4, { clientId: '', reconnect: { initialDelay: 1, maxDelay: 5 } });
    expect((w.conn.received[0] as ConnectPacket).cleanStart).toBe(true);
    w.conn.close();
    const again = await broker.nextConnection();
    const connect2 = await again.handshake();
    expect(connect2.clientId).toBe('');
    expect(connect2.cleanStart).toBe(true);
    await settlesWithin(w.client.disconnect(), 5000, 'disconnect');
  });
});
