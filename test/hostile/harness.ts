/** Shared steps of the hostile-broker specs: connect a driver client to a fake broker and watch what it does. */
import { expect } from '@jest/globals';
import type { DisconnectPacket } from '../../lib/driver/codec/packets.js';
import {
  connect,
  type DisconnectedEvent,
  type MqttClient,
  type MqttClientOptions,
  MqttProtocolError,
} from '../../lib/driver/index.js';
import { eventually } from '../support/eventually.js';
import type { FakeBroker, FakeConnection } from '../support/fake-broker.js';
import { settlesWithin } from '../support/messages.js';

export const VERSIONS = [5, 4] as const;

export interface Watched {
  client: MqttClient;
  conn: FakeConnection;
  errors: Error[];
  disconnects: DisconnectedEvent[];
}

/**
 * Connects a client (reconnect off unless given) to the fake broker, which accepts with `connack` properties and
 * answers nothing else until the test calls `conn.autoRespond()`.
 */
export async function connectClient(
  broker: FakeBroker,
  protocolVersion: 4 | 5,
  options: MqttClientOptions = {},
  connack: Parameters<FakeConnection['handshake']>[0] = {},
): Promise<Watched> {
  const pending = connect(broker.url, { protocolVersion, reconnect: false, keepalive: 0, ...options });
  const conn = await broker.nextConnection();
  await conn.handshake(connack);
  const client = await pending;
  const errors: Error[] = [];
  const disconnects: DisconnectedEvent[] = [];
  client.on('error', (e) => errors.push(e));
  client.on('disconnect', (d) => disconnects.push(d));
  return { client, conn, errors, disconnects };
}

/**
 * The client must close the link because of a protocol violation: on v5 it sends DISCONNECT with `reasonCode`
 * first; the application gets an `MqttProtocolError` with that code on 'error' and a 'disconnect' event.
 */
export async function expectProtocolClose(w: Watched, reasonCode: number): Promise<void> {
  await settlesWithin(w.conn.closed, 5000, 'the client closing the connection');
  const disconnect = w.conn.received.find((p): p is DisconnectPacket => p.type === 'disconnect');
  if (w.conn.protocolVersion === 5) {
    expect(disconnect?.reasonCode).toBe(reasonCode);
  } else {
    // 3.1.1 has no reason codes: a client closes the network connection without DISCONNECT (which would
    // also discard the will).
    expect(disconnect).toBeUndefined();
  }
  expect(w.conn.decodeError).toBeUndefined();
  const protocolErrors = w.errors.filter((e) => e instanceof MqttProtocolError);
  expect(protocolErrors.map((e) => (e as MqttProtocolError).reasonCode)).toEqual([reasonCode]);
  await settlesWithin(
    until(() => w.disconnects.length > 0),
    5000,
    "the client's disconnect event",
  );
  expect(w.client.status).toBe('closed');
}

const until = (predicate: () => boolean) => eventually(predicate, 'the hostile broker', 10_000);

/** Encodes an MQTT variable byte integer. */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A raw packet: first byte, remaining length, body. */
export function raw(first: number, body: number[] | Buffer): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from([first, ...varint(b.length)]), b]);
}

/** MQTT UTF-8 string bytes (length-prefixed) from raw bytes. */
export function str(bytes: number[] | string): number[] {
  const b = typeof bytes === 'string' ? [...Buffer.from(bytes)] : bytes;
  return [b.length >> 8, b.length & 0xff, ...b];
}

let gcFn: (() => void) | undefined;
/** Heap used and ArrayBuffer bytes after a full GC (gc is exposed at run time, so no node flag is needed). */
export async function heapAfterGc(): Promise<{ heapUsed: number; arrayBuffers: number }> {
  if (!gcFn) {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose_gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  await new Promise((r) => setImmediate(r));
  gcFn();
  gcFn();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}
