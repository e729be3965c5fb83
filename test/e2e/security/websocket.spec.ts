import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WebSocket as WsWebSocket } from 'ws';
import {
  connect,
  type MqttClient,
  type MqttClientOptions,
  MqttConnectError,
  type QoS,
  type WebSocketConstructor,
} from '../../../lib/driver/index.js';
import { eventually } from '../../support/eventually.js';
import { take } from '../../support/messages.js';
import { describeIf, hasMosquitto, itMosquitto, startMosquitto } from '../../support/mosquitto.js';
import { hasOpenssl, makePki, type TestPki } from '../../support/tls.js';
import { startWsBroker, type WsBroker } from './support/ws-broker.js';

/** Which WebSocket `connect()` picks by default in this process: Node's global one, or the `ws` peer. */
const defaultImpl = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function' ? 'global' : 'ws';

/** Publishes `count` messages per QoS from one ws:// client to another and checks order, payload and QoS. */
async function qosBothWays(url: string, protocolVersion: 4 | 5, options: MqttClientOptions = {}): Promise<void> {
  const subscriber = await connect(url, { protocolVersion, ...options });
  const publisher = await connect(url, { protocolVersion, ...options });
  try {
    for (const qos of [0, 1, 2] as QoS[]) {
      const topic = `ws/v${protocolVersion}/q${qos}`;
      const sub = await subscriber.subscribe(topic, { qos });
      const sent = Array.from({ length: 50 }, (_, i) => `m${i}-${'x'.repeat(i * 40)}`);
      await Promise.all(sent.map((p) => publisher.publish(topic, p, { qos })));
      const got = await take(sub, sent.length);
      expect(got.map((m) => m.payload.toString())).toEqual(sent);
      expect(new Set(got.map((m) => m.qos))).toEqual(new Set([qos]));
      await sub.unsubscribe();
    }
  } finally {
    await publisher.disconnect();
    await subscriber.disconnect();
  }
}

describe(`WebSocket transport over a real ws listener (default implementation here: ${defaultImpl})`, () => {
  const targets = [
    { name: 'aedes 1.x, MQTT 3.1.1', target: { aedes: 4 as const }, version: 4 as const },
    { name: 'aedes 2 beta, MQTT 5', target: { aedes: 5 as const }, version: 5 as const },
  ];
  for (const { name, target, version } of targets) {
    it(`${name}: QoS 0/1/2 both ways, subprotocol mqtt, binary frames only (${defaultImpl} WebSocket)`, async () => {
      const broker = await startWsBroker({ target });
      try {
        await qosBothWays(broker.url, version);
        expect(broker.requestedProtocols).toEqual(['mqtt', 'mqtt']);
        expect(broker.frames.text).toBe(0);
        expect(broker.frames.binary).toBeGreaterThan(300);
      } finally {
        await broker.stop();
      }
    });
  }

  itMosquitto(`mosquitto (MQTT 5) behind a ws bridge: QoS 0/1/2 both ways (${defaultImpl} WebSocket)`, async () => {
    const mosquitto = await startMosquitto();
    const broker = await startWsBroker({ target: { tcpPort: mosquitto.port } });
    try {
      await qosBothWays(broker.url, 5);
    } finally {
      await broker.stop();
      await mosquitto.stop();
    }
  });

  it('the ws package can be given explicitly (webSocket.implementation)', async () => {
    const broker = await startWsBroker({ target: { aedes: 4 } });
    try {
      await qosBothWays(broker.url, 4, { webSocket: { implementation: WsWebSocket as WebSocketConstructor } });
    } finally {
      await broker.stop();
    }
  });

  if (defaultImpl === 'ws') {
    it("Node's global WebSocket: the same tests in a child Node with --experimental-websocket", () => {
      const child = spawnSync(
        process.execPath,
        [
          '--experimental-websocket',
          '--experimental-vm-modules',
          'node_modules/jest/bin/jest.js',
          'test/e2e/security/websocket.spec.ts',
          '-t',
          'global WebSocket\\)',
        ],
        { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 },
      );
      const output = `${child.stdout}\n${child.stderr}`;
      // The mosquitto case is one of the three; without mosquitto (or under HIDE_BROKERS=1) it is skipped.
      expect(output).toMatch(new RegExp(`Tests:\\s+(\\d+ skipped, )?${hasMosquitto ? 3 : 2} passed`));
      expect(child.status).toBe(0);
    }, 130_000);
  }
});

describe('WebSocket transport: failures, backpressure, reconnect', () => {
  let broker: WsBroker;
  beforeAll(async () => {
    broker = await startWsBroker({ target: { aedes: 5 } });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('webSocket.headers are sent on the handshake (e.g. a gateway bearer token)', async () => {
    const client = await connect(broker.url, { webSocket: { headers: { authorization: 'Bearer gw-token' } } });
    expect(broker.authorizations.at(-1)).toBe('Bearer gw-token');
    await client.disconnect();
  });

  it('a refused handshake (HTTP 401) → MqttConnectError naming the status', async () => {
    const refusing = await startWsBroker({ target: { aedes: 4 }, refuseWith: 401 });
    try {
      const err = await connect(refusing.url, { reconnect: { maxAttempts: 2, initialDelay: 10 } }).catch((e) => e);
      expect(err).toBeInstanceOf(MqttConnectError);
      expect((err as Error).message).toMatch(/ws:\/\/127\.0\.0\.1:\d+.*(401|non-101)/);
    } finally {
      await refusing.stop();
    }
  });

  it('nothing listening → MqttConnectError after maxAttempts', async () => {
    const err = await connect('ws://127.0.0.1:1/mqtt', { reconnect: { maxAttempts: 2, initialDelay: 10 } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(MqttConnectError);
  });

  it('a text frame from the server is a protocol violation: error event, then the client reconnects', async () => {
    const client = await connect(broker.url, { reconnect: { initialDelay: 10 } });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const reconnected = new Promise<void>((resolve) => client.on('connect', () => resolve()));
    for (const s of broker.sockets) s.send('not mqtt');
    await reconnected;
    expect(errors.map((e) => e.message).join('\n')).toMatch(/text WebSocket frame/);
    await expect(client.publish('ws/after', 'ok', { qos: 1 })).resolves.toBeDefined();
    await client.disconnect();
  });

  it('a cut WebSocket reconnects and QoS 1 publishes made meanwhile are delivered', async () => {
    const client = await connect(broker.url, { reconnect: { initialDelay: 10 } });
    const sub = await client.subscribe('ws/cut', { qos: 1 });
    const reconnected = new Promise<void>((resolve) => client.on('connect', () => resolve()));
    for (const s of broker.sockets) s.terminate();
    const pending = [client.publish('ws/cut', 'a', { qos: 1 }), client.publish('ws/cut', 'b', { qos: 1 })];
    await reconnected;
    await Promise.all(pending);
    const got = await take(sub, 2);
    expect(got.map((m) => m.payload.toString()).sort()).toEqual(['a', 'b']);
    await client.disconnect();
  });

  it('backpressure: a QoS 0 publish resolves only once the WebSocket buffer drained below the high-water mark', async () => {
    let gate = false;
    let fullSeen = 0;
    // The real `ws` WebSocket, reporting a full buffer while the gate is closed.
    class GatedWebSocket extends WsWebSocket {}
    const real = Object.getOwnPropertyDescriptor(WsWebSocket.prototype, 'bufferedAmount')?.get;
    Object.defineProperty(GatedWebSocket.prototype, 'bufferedAmount', {
      get(this: WsWebSocket) {
        if (gate) fullSeen++;
        return gate ? 10_000_000 : (real?.call(this) as number);
      },
    });
    const client: MqttClient = await connect(broker.url, {
      webSocket: { implementation: GatedWebSocket as unknown as WebSocketConstructor, highWaterMark: 64 * 1024 },
    });
    const sub = await client.subscribe('ws/bp', { qos: 0 });
    gate = true;
    let resolved = false;
    const publish = client.publish('ws/bp', 'held', { qos: 0 }).then(() => {
      resolved = true;
    });
    // The driver has looked at the full buffer several times (its drain poll), and still holds the publish.
    await eventually(() => fullSeen >= 5, 'the driver polling the full WebSocket buffer', 10_000);
    expect(resolved).toBe(false);
    gate = false;
    await publish;
    expect(resolved).toBe(true);
    expect((await take(sub, 1))[0]?.payload.toString()).toBe('held');
    await client.disconnect();
  });
});

describeIf(hasOpenssl, 'openssl')('wss:// (WebSocket over TLS)', () => {
  let pki: TestPki;
  let broker: WsBroker;
  beforeAll(async () => {
    pki = makePki();
    broker = await startWsBroker({ target: { aedes: 5 }, tls: { cert: pki.server.cert, key: pki.server.key } });
  });
  afterAll(async () => {
    await broker?.stop();
    pki?.remove();
  });

  it('connects with the CA (tls options select the ws package) and carries QoS 0/1/2', async () => {
    await qosBothWays(broker.url, 5, { tls: { ca: pki.ca } });
  });

  it('verifies by default: the wrong CA → permanent MqttConnectError asking for tls.ca', async () => {
    const err = await connect(broker.url, { tls: { ca: pki.otherCa } }).catch((e) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/not signed by a trusted CA: pass the broker's CA certificate as tls\.ca/);
  });

  it('wss:// with a host name the certificate does not list → MqttConnectError', async () => {
    const err = await connect(broker.url, { tls: { ca: pki.ca, servername: 'broker.example' } }).catch((e) => e);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/not valid for host/);
  });
});
