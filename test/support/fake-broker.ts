/**
 * A scripted, deliberately dumb MQTT "broker" for hostile-peer tests: a `net.Server` speaking our own codec.
 * Each accepted connection is handed to the test's script, which decides what to send (valid packets, raw
 * bytes, nothing at all) and can await what the client sends. Nothing is answered unless the script says so.
 */
import net from 'node:net';
import { afterEach, beforeEach, expect } from '@jest/globals';
import { encodePacket, type Packet, PacketDecoder, type ProtocolVersion } from '../../lib/driver/codec/index.js';
import type { ConnackProperties, ConnectPacket } from '../../lib/driver/codec/packets.js';
import { listenOnLoopback } from './ports.js';

type PacketOf<T extends Packet['type']> = Extract<Packet, { type: T }>;

export interface FakeConnection {
  readonly socket: net.Socket;
  /** Protocol level of the client's CONNECT (5 until it arrived). */
  readonly protocolVersion: ProtocolVersion;
  /** Every packet decoded from the client, in order. */
  readonly received: Packet[];
  /** Set when the client sent bytes our decoder rejected. */
  readonly decodeError: Error | undefined;
  /** Resolves when the socket closed (either side). */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  /** Encodes and writes a packet at the connection's protocol level. */
  send(packet: Packet): boolean;
  /** Writes raw bytes. */
  sendRaw(bytes: Uint8Array): boolean;
  /** Next packet of `type` not yet taken by `next`; rejects when the socket closes first or after `timeoutMs`. */
  next<T extends Packet['type']>(type: T, timeoutMs?: number): Promise<PacketOf<T>>;
  /** Waits for CONNECT and answers CONNACK (accepted unless `reasonCode` says otherwise). */
  handshake(options?: {
    properties?: ConnackProperties;
    sessionPresent?: boolean;
    reasonCode?: number;
  }): Promise<ConnectPacket>;
  /** Answers PINGREQ, SUBSCRIBE (granting the requested QoS), UNSUBSCRIBE and inbound QoS 1/2 publishes. */
  autoRespond(): void;
  /** Destroys the socket. */
  close(): void;
}

export type FakeScript = (conn: FakeConnection) => void | Promise<void>;

export interface FakeBroker {
  readonly url: string;
  readonly port: number;
  readonly connections: readonly FakeConnection[];
  /** Resolves with the next accepted connection (or one already accepted and not yet taken). */
  nextConnection(timeoutMs?: number): Promise<FakeConnection>;
  /** Errors thrown by scripts (a script failing is a test failure; check it). */
  readonly scriptErrors: readonly unknown[];
  /** Closes every connection and the listener. Idempotent. */
  stop(): Promise<void>;
}

function createConnection(socket: net.Socket): FakeConnection {
  const received: Packet[] = [];
  const taken = new Set<Packet>();
  const waiters = new Set<() => void>();
  const decoder = new PacketDecoder({ protocolVersion: 5 });
  let version: ProtocolVersion = 5;
  let decodeError: Error | undefined;
  let isClosed = false;
  let autoRespond = false;
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      wake();
      resolve();
    }),
  );
  socket.on('error', () => undefined);
  const conn: FakeConnection = {
    socket,
    get protocolVersion() {
      return version;
    },
    received,
    get decodeError() {
      return decodeError;
    },
    closed,
    get isClosed() {
      return isClosed;
    },
    send: (packet) => !isClosed && socket.write(encodePacket(packet, version)),
    sendRaw: (bytes) => !isClosed && socket.write(bytes),
    next(type, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const p = received.find((x) => x.type === type && !taken.has(x));
          if (p) {
            taken.add(p);
            done();
            resolve(p as never);
          } else if (isClosed) {
            done();
            reject(new Error(`fake broker: connection closed before a ${type} arrived`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`fake broker: no ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async handshake(options = {}) {
      const connect = await conn.next('connect');
      conn.send({
        type: 'connack',
        sessionPresent: options.sessionPresent ?? false,
        reasonCode: options.reasonCode ?? 0,
        properties: version === 5 ? options.properties : undefined,
      });
      return connect;
    },
    autoRespond() {
      autoRespond = true;
      for (const p of received) respond(p);
    },
    close: () => socket.destroy(),
  };
  const respond = (p: Packet): void => {
    const rc = version === 5 ? { reasonCode: 0 } : {};
    if (p.type === 'pingreq') conn.send({ type: 'pingresp' });
    else if (p.type === 'subscribe')
      conn.send({
        type: 'suback',
        packetId: p.packetId,
        reasonCodes: p.subscriptions.map((s) => s.qos),
      });
    else if (p.type === 'unsubscribe')
      conn.send({
        type: 'unsuback',
        packetId: p.packetId,
        reasonCodes: version === 5 ? p.topicFilters.map(() => 0) : [],
      });
    else if (p.type === 'publish' && p.qos === 1) conn.send({ type: 'puback', packetId: p.packetId as number, ...rc });
    else if (p.type === 'publish' && p.qos === 2) conn.send({ type: 'pubrec', packetId: p.packetId as number, ...rc });
    else if (p.type === 'pubrel') conn.send({ type: 'pubcomp', packetId: p.packetId, ...rc });
  };
  socket.on('data', (chunk: Buffer) => {
    if (decodeError) return;
    try {
      for (const p of decoder.push(chunk)) {
        if (p.type === 'connect') version = p.protocolVersion;
        received.push(p);
        if (autoRespond) respond(p);
      }
    } catch (err) {
      decodeError = err as Error;
    }
    wake();
  });
  return conn;
}

/** Starts a fake broker on a free loopback port; `script` runs for every accepted connection. */
export async function startFakeBroker(script: FakeScript = () => undefined): Promise<FakeBroker> {
  const connections: FakeConnection[] = [];
  const untaken: FakeConnection[] = [];
  const connWaiters: ((c: FakeConnection) => void)[] = [];
  const scriptErrors: unknown[] = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const conn = createConnection(socket);
    connections.push(conn);
    const waiter = connWaiters.shift();
    if (waiter) waiter(conn);
    else untaken.push(conn);
    Promise.resolve()
      .then(() => script(conn))
      .catch((err: unknown) => {
        // A script awaiting a packet fails when the client closes first; only record real surprises.
        if (!conn.isClosed) scriptErrors.push(err);
      });
  });
  const port = await listenOnLoopback(server);
  let stopping: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    connections,
    scriptErrors,
    nextConnection(timeoutMs = 5000) {
      const ready = untaken.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          connWaiters.splice(connWaiters.indexOf(waiter), 1);
          reject(new Error(`fake broker: no connection within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (c: FakeConnection) => {
          clearTimeout(timer);
          resolve(c);
        };
        connWaiters.push(waiter);
      });
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const c of connections) c.close();
        server.close(() => resolve());
      });
      return stopping;
    },
  };
}

/**
 * A fresh fake broker for every test of the calling file (started before each, stopped after each, whose script
 * errors fail the test). The returned object always speaks for the current test's broker.
 */
export function useFakeBroker(): FakeBroker {
  let current: FakeBroker | undefined;
  beforeEach(async () => {
    current = await startFakeBroker();
  });
  afterEach(async () => {
    await current?.stop();
    expect(current?.scriptErrors).toEqual([]);
  });
  const now = (): FakeBroker => {
    if (!current) throw new Error('useFakeBroker(): no broker outside a test');
    return current;
  };
  return {
    get url() {
      return now().url;
    },
    get port() {
      return now().port;
    },
    get connections() {
      return now().connections;
    },
    get scriptErrors() {
      return now().scriptErrors;
    },
    nextConnection: (timeoutMs) => now().nextConnection(timeoutMs),
    stop: () => now().stop(),
  };
}
