import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { IPublishPacket } from 'mqtt';
import { connect, type MqttClient } from '../../../lib/driver/index.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { endMqttJs, type MqttJsClient, mqttJsClient } from '../../support/peers.js';

/** Next message MQTT.js receives on `topic`. */
function nextJs(peer: MqttJsClient, topic: string): Promise<{ payload: Buffer; packet: IPublishPacket }> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer, packet: IPublishPacket) => {
      if (t !== topic) return;
      peer.off('message', onMessage);
      resolve({ payload, packet });
    };
    peer.on('message', onMessage);
  });
}

describeMosquitto('interop with MQTT.js through mosquitto', () => {
  let broker: MosquittoHandle;
  let peer: MqttJsClient;
  let ours: MqttClient;
  beforeAll(async () => {
    broker = await startMosquitto();
    peer = await mqttJsClient(broker.url, { clientId: 'interop-js' });
    ours = await connect(broker.url, { clientId: 'interop-ours' });
  });
  afterAll(async () => {
    await ours?.disconnect();
    if (peer) await endMqttJs(peer);
    await broker?.stop();
  });

  it('MQTT.js → driver: every PUBLISH property arrives, user properties in order with repeats', async () => {
    const sub = await ours.subscribe('io/in', { qos: 2 });
    await peer.publishAsync('io/in', Buffer.from([0, 1, 2, 255]), {
      qos: 2,
      properties: {
        contentType: 'application/octet-stream',
        responseTopic: 'io/reply',
        correlationData: Buffer.from('corr-1'),
        messageExpiryInterval: 3600,
        payloadFormatIndicator: false,
        userProperties: { z: 'first', a: ['x', 'y'], m: 'last' },
      },
    });
    const [m] = await take(sub, 1);
    expect(m?.qos).toBe(2);
    expect([...(m?.payload ?? [])]).toEqual([0, 1, 2, 255]);
    expect(m?.properties.contentType).toBe('application/octet-stream');
    expect(m?.properties.responseTopic).toBe('io/reply');
    expect(m?.properties.correlationData?.toString()).toBe('corr-1');
    // mosquitto forwards the remaining lifetime: at most what was sent, and positive.
    expect(m?.properties.messageExpiryInterval).toBeGreaterThan(3500);
    expect(m?.properties.messageExpiryInterval).toBeLessThanOrEqual(3600);
    expect(m?.properties.userProperties).toEqual([
      ['z', 'first'],
      ['a', 'x'],
      ['a', 'y'],
      ['m', 'last'],
    ]);
    expect(m?.userProperties).toEqual({ z: 'first', a: ['x', 'y'], m: 'last' });
    await sub.unsubscribe();
  });

  it('driver → MQTT.js: properties, repeated user properties in order, QoS 2', async () => {
    await peer.subscribeAsync('io/out', { qos: 2 });
    const got = nextJs(peer, 'io/out');
    await ours.publish('io/out', 'hello', {
      qos: 2,
      properties: {
        contentType: 'text/plain',
        payloadFormatIndicator: 1,
        responseTopic: 'io/back',
        correlationData: Buffer.from([9, 8, 7]),
        messageExpiryInterval: 120,
        userProperties: [
          ['k', '1'],
          ['j', 'only'],
          ['k', '2'],
        ],
      },
    });
    const { payload, packet } = await got;
    expect(payload.toString()).toBe('hello');
    expect(packet.qos).toBe(2);
    expect(packet.properties?.contentType).toBe('text/plain');
    expect(packet.properties?.payloadFormatIndicator).toBe(true);
    expect(packet.properties?.responseTopic).toBe('io/back');
    expect([...(packet.properties?.correlationData ?? [])]).toEqual([9, 8, 7]);
    expect(packet.properties?.messageExpiryInterval).toBeLessThanOrEqual(120);
    expect(packet.properties?.messageExpiryInterval).toBeGreaterThan(100);
    // MQTT.js folds user properties into a record; repeated names become arrays in wire order.
    expect(packet.properties?.userProperties).toEqual({ k: ['1', '2'], j: 'only' });
    await peer.unsubscribeAsync('io/out');
  });

  it('QoS 2 both ways in bulk: 200 each way, none lost or duplicated', async () => {
    const n = 200;
    const sub = await ours.subscribe('io/q2/in', { qos: 2 });
    await peer.subscribeAsync('io/q2/out', { qos: 2 });
    const fromUs = new Map<string, number>();
    const allOut = new Promise<void>((resolve) => {
      const onMessage = (t: string, p: Buffer) => {
        if (t !== 'io/q2/out') return;
        fromUs.set(p.toString(), (fromUs.get(p.toString()) ?? 0) + 1);
        if (fromUs.size === n) {
          peer.off('message', onMessage);
          resolve();
        }
      };
      peer.on('message', onMessage);
    });
    // MQTT.js ignores the broker's Receive Maximum (a burst gets 0x97 Quota exceeded), so its side goes one at a
    // time; ours is a burst, queued by the driver behind mosquitto's Receive Maximum.
    const peerSide = (async () => {
      for (let i = 0; i < n; i++) await peer.publishAsync('io/q2/in', String(i), { qos: 2 });
    })();
    await Promise.all([
      ...Array.from({ length: n }, (_, i) => ours.publish('io/q2/out', String(i), { qos: 2 })),
      peerSide,
    ]);
    const received = await take(sub, n);
    await allOut;
    expect(received.map((m) => Number(m.payload.toString())).sort((a, b) => a - b)).toEqual(
      Array.from({ length: n }, (_, i) => i),
    );
    expect([...fromUs.values()].every((count) => count === 1)).toBe(true);
    await sub.unsubscribe();
    await peer.unsubscribeAsync('io/q2/out');
  });

  it('3.1.1 driver ↔ MQTT.js v5: payload and QoS cross protocol versions', async () => {
    const v4 = await connect(broker.url, { protocolVersion: 4 });
    try {
      const sub = await v4.subscribe('io/v4', { qos: 2 });
      await peer.publishAsync('io/v4', 'to-v4', { qos: 2, properties: { userProperties: { dropped: 'yes' } } });
      const [m] = await take(sub, 1);
      expect(m?.payload.toString()).toBe('to-v4');
      expect(m?.qos).toBe(2);
      expect(m?.properties.userProperties ?? []).toEqual([]);
    } finally {
      await v4.disconnect();
    }
  });

  for (const version of [5, 4] as const) {
    it(`v${version}: our will is delivered to an MQTT.js peer when our socket dies`, async () => {
      const proxy = await startFaultProxy(broker.port);
      const topic = `io/will/${version}`;
      await peer.subscribeAsync(topic, { qos: 1 });
      const willArrives = nextJs(peer, topic);
      const doomed = await connect(proxy.url, {
        protocolVersion: version,
        reconnect: false,
        will: {
          topic,
          payload: `gone-${version}`,
          qos: 1,
          properties: version === 5 ? { contentType: 'text/plain', userProperties: [['why', 'crash']] } : undefined,
        },
      });
      try {
        proxy.cutAll();
        const { payload, packet } = await willArrives;
        expect(payload.toString()).toBe(`gone-${version}`);
        expect(packet.qos).toBe(1);
        if (version === 5) {
          expect(packet.properties?.contentType).toBe('text/plain');
          expect(packet.properties?.userProperties).toEqual({ why: 'crash' });
        }
      } finally {
        await doomed.disconnect();
        await proxy.stop();
        await peer.unsubscribeAsync(topic);
      }
    });
  }

  it('a clean disconnect does not send the will', async () => {
    await peer.subscribeAsync('io/nowill', { qos: 1 });
    let got = 0;
    const count = (t: string) => {
      if (t === 'io/nowill') got++;
    };
    peer.on('message', count);
    const c = await connect(broker.url, { will: { topic: 'io/nowill', payload: 'x', qos: 1 } });
    await c.disconnect();
    // A marker published afterwards arrives after any will would have: then the count is final.
    const marker = nextJs(peer, 'io/nowill/marker');
    await peer.subscribeAsync('io/nowill/marker', { qos: 1 });
    await ours.publish('io/nowill/marker', 'm', { qos: 1 });
    await marker;
    peer.off('message', count);
    expect(got).toBe(0);
  });
});
