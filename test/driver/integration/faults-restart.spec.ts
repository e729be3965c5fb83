import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClientOptions } from '../../../lib/driver/index.js';
import { settlesWithin } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

const persistent = (clientId: string, protocolVersion: 4 | 5): MqttClientOptions => ({
  clientId,
  protocolVersion,
  cleanStart: false,
  sessionExpiryInterval: 300,
  connectTimeout: 2000,
  reconnect: { initialDelay: 20, maxDelay: 200 },
});

describeMosquitto('faults: mosquitto restarts (with persistence) mid-stream', () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true });
  });
  afterAll(() => broker?.stop());

  const cases = [
    { qos: 1, version: 5 },
    { qos: 2, version: 5 },
    { qos: 2, version: 4 },
  ] as const;
  for (const { qos, version } of cases) {
    it(`v${version} QoS ${qos}: zero loss${qos === 2 ? ', zero duplicates' : ''} across two broker restarts`, async () => {
      const n = 1500;
      const topic = `faults/restart/${version}/${qos}`;
      const counts = new Map<number, number>();
      // On 3.1.1 a persistent session is cleanStart false (cleanSession 0); the expiry does not apply.
      const sub = await connect(broker.url, persistent(`fr-sub-${version}-${qos}`, version));
      const pub = await connect(broker.url, persistent(`fr-pub-${version}-${qos}`, version));
      let reconnects = 0;
      sub.on('connect', () => reconnects++);
      pub.on('connect', () => reconnects++);
      try {
        const subscription = await sub.subscribe(topic, { qos, bufferSize: 200 });
        const restartAt = [Math.floor(n * (0.2 + Math.random() * 0.2)), Math.floor(n * (0.6 + Math.random() * 0.2))];
        let restarting: Promise<void> = Promise.resolve();
        const reader = (async () => {
          for await (const m of subscription) {
            const id = Number(m.payload.toString());
            counts.set(id, (counts.get(id) ?? 0) + 1);
            if (counts.size === restartAt[0]) {
              restartAt.shift();
              restarting = restarting.then(() => broker.restart());
            }
            if (counts.size === n) return;
          }
        })();
        const results = await settlesWithin(
          Promise.allSettled(Array.from({ length: n }, (_, i) => pub.publish(topic, String(i), { qos }))),
          20_000,
          'publishes across restarts',
        );
        expect(results.filter((r) => r.status === 'rejected').map((r) => String(r.reason))).toEqual([]);
        await settlesWithin(reader, 20_000, `delivery of all ${n} (have ${counts.size})`);
        await restarting;
        expect(Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i))).toEqual([]);
        if (qos === 2) expect([...counts].filter(([, c]) => c > 1).map(([id]) => id)).toEqual([]);
        expect(restartAt).toEqual([]); // both restarts happened mid-stream
        expect(reconnects).toBeGreaterThanOrEqual(4);
      } finally {
        await sub.disconnect({ sessionExpiryInterval: 0 });
        await pub.disconnect({ sessionExpiryInterval: 0 });
      }
    }, 45_000);
  }
});
