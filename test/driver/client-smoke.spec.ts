import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, MqttError, type MqttMessage } from '../../lib/driver/index.js';
import { requireBinary } from '../support/binaries.mjs';
import { describeMosquitto } from '../support/mosquitto.js';
import { freePort } from '../support/ports.js';

const d = describeMosquitto;

d('driver client smoke (mosquitto)', () => {
  let broker: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mq-'));
    writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
    broker = spawn(requireBinary('mosquitto'), ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
    url = `mqtt://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      const ok = await new Promise<boolean>((r) =>
        net
          .connect(port, '127.0.0.1')
          .on('connect', function (this: net.Socket) {
            this.destroy();
            r(true);
          })
          .on('error', () => r(false)),
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => {
    broker?.kill();
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
