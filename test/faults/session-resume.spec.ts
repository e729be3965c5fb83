/**
 * Session resume across a mosquitto restart with persistence: publishes in flight while the broker restarts all
 * resolve, and every one reaches the persistent subscriber (QoS 2: once). Both sessions must come back present —
 * the test checks it, since a broker that lost them drops what was published meanwhile, legitimately.
 *
 * It used to lose a window of messages "intermittently": mosquitto (started as root) drops to its own user and
 * could not write its database into the root-only temp dir, so every restart lost every session.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClient, type QoS } from '../../lib/driver/index.js';
import { requireBinary } from '../support/binaries.mjs';
import { describeMosquitto } from '../support/mosquitto.js';
import { freePort } from '../support/ports.js';

const suite = describeMosquitto;

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A mosquitto with persistence that can be restarted on the same port, keeping its sessions and queues. */
class PersistentMosquitto {
  private proc: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'mosq-resume-'));
  constructor(readonly port: number) {
    chmodSync(this.dir, 0o777); // mosquitto run as root switches to its own user, which must write mosquitto.db here
    writeFileSync(
      join(this.dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${this.dir}/`,
        'max_queued_messages 10000',
        'max_inflight_messages 20',
      ].join('\n'),
    );
  }
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.proc = spawn(requireBinary('mosquitto'), ['-c', join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !(await portOpen(this.port)); i++) await new Promise((r) => setTimeout(r, 25));
  }
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const persistent = (clientId: string) => ({
  clientId,
  cleanStart: false,
  sessionExpiryInterval: 300,
  keepalive: 5,
  reconnect: { initialDelay: 50, maxDelay: 250, jitter: 0.1 },
});

suite('driver session resume across a mosquitto restart (persistence on)', () => {
  let broker: PersistentMosquitto;

  beforeAll(async () => {
    broker = new PersistentMosquitto(await freePort());
    await broker.start();
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  it.each([1, 2] as QoS[])(
    'QoS %i: no loss, and no duplicates at QoS 2, with the broker restarted mid-stream',
    async (qos) => {
      const total = 400;
      const topic = `resume/q${qos}`;
      const sub: MqttClient = await connect(broker.url, persistent(`resume-sub-${qos}`));
      const pub: MqttClient = await connect(broker.url, persistent(`resume-pub-${qos}`));
      const seen = new Map<number, number>();
      const resumed: boolean[] = [];
      sub.on('connect', ({ sessionPresent }) => resumed.push(sessionPresent));
      pub.on('connect', ({ sessionPresent }) => resumed.push(sessionPresent));
      const subscription = await sub.subscribe(topic, { qos });
      const consumer = (async () => {
        for await (const msg of subscription) {
          const n = Number(msg.payload.toString());
          seen.set(n, (seen.get(n) ?? 0) + 1);
          if (seen.size === total) break;
        }
      })();

      const settled: Array<Promise<unknown>> = [];
      for (let n = 0; n < total; n++) {
        settled.push(pub.publish(topic, String(n), { qos }));
        if (n === total / 2) {
          await Promise.all(settled.slice(0, 50));
          await broker.restart();
        }
      }
      const outcomes = await Promise.allSettled(settled);
      expect(resumed).toEqual([true, true]); // both reconnected once, to their persisted sessions
      const rejected = outcomes.filter((o) => o.status === 'rejected');
      expect(rejected).toEqual([]); // every publish settled, none lost to the restart

      const deadline = Date.now() + 20_000;
      while (seen.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const missing = Array.from({ length: total }, (_, n) => n).filter((n) => !seen.has(n));
      expect(missing).toEqual([]);
      if (qos === 2) expect([...seen.entries()].filter(([, count]) => count > 1)).toEqual([]);

      await subscription.unsubscribe();
      await consumer;
      await Promise.all([sub.disconnect(), pub.disconnect()]);
    },
    40_000,
  );
});
