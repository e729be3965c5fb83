import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, MqttError, type MqttMessage } from '../../lib/driver/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../support/mosquitto.js';

const d = describeMosquitto;

d('driver client smoke (mosquitto)', () => {
  let broker: MosquittoHandle;
  let url: string;
  beforeAll(async () => {
    broker = await startMosquitto();
    url = broker.url;
  });
  afterAll(async () => {
    await broker?.stop();
  });

  for (const v of [5, 4] as const) {
    it(`v${v}: QoS 0/1/2 round trip`, async () => {
      const c = await connect(url, { protocolVersion: v });
      const sub = await c.subscribe('a/#', { qos: 2 });
      for (const q of [0, 1, 2] as const) await c.publish('a/b', `hi${q}`, { qos: q });
      const got: string[] = [];
      for await (const m of sub) {
        got.push(`${m.payload.toString()}:${m.qos}`);
        if (got.length === 3) break;
      }
      expect(got).toEqual(['hi0:0', 'hi1:1', 'hi2:2']);
      await c.disconnect();
      expect(c.status).toBe('closed');
    });

    it(`v${v}: 200 QoS 2 burst all acknowledged`, async () => {
      const c = await connect(url, { protocolVersion: v });
      const ps = Array.from({ length: 200 }, (_, i) => c.publish('burst', String(i), { qos: 2 }));
      const results = await Promise.allSettled(ps);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(200);
      await c.disconnect();
    });
  }

  it('v5: request/response', async () => {
    const c = await connect(url);
    const responder = await c.subscribe('svc');
    void (async () => {
      for await (const m of responder) {
        await c.publish(m.properties.responseTopic as string, `pong:${m.payload}`, {
          properties: { correlationData: m.properties.correlationData },
        });
      }
    })();
    const replies = await Promise.all([1, 2, 3].map((i) => c.request('svc', String(i), { timeout: 5000 })));
    expect(replies.map((r: MqttMessage) => r.payload.toString())).toEqual(['pong:1', 'pong:2', 'pong:3']);
    await c.disconnect();
  });

  it('v4: request without responseTopic throws before I/O; publish after disconnect rejects', async () => {
    const c = await connect(url, { protocolVersion: 4 });
    await expect(c.request('svc', 'x')).rejects.toBeInstanceOf(MqttError);
    await c.disconnect();
    await c.disconnect();
    await expect(c.publish('a', 'b', { qos: 1 })).rejects.toBeInstanceOf(MqttError);
  });
});
