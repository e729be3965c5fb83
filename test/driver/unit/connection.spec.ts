/**
 * The driver's Connection without a network: `options.transport` hands it an in-memory stream the test plays the
 * broker on, and a recording listener shows what the Connection reports (up / packet / down / lost ...), in order.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { encodePacket, type Packet, PacketDecoder } from '../../../lib/driver/codec/index.js';
import type { ProtocolVersion } from '../../../lib/driver/codec/packets.js';
import { Connection, type ConnectionListener } from '../../../lib/driver/connection.js';
import { MqttConnectError, MqttProtocolError } from '../../../lib/driver/errors.js';
import { resolveClientOptions } from '../../../lib/driver/options.js';
import type { MqttClientOptions, MqttTransportStream } from '../../../lib/driver/types.js';
import { eventually } from '../../support/eventually.js';
import { FakeClock } from './fake-clock.js';

/** One side of an in-memory link: what the client writes is decoded into `received`. */
class MemoryStream extends EventEmitter implements MqttTransportStream {
  readonly received: Packet[] = [];
  closed = false;
  private readonly decoder: PacketDecoder;
  constructor(readonly version: ProtocolVersion) {
    super();
    this.decoder = new PacketDecoder({ protocolVersion: version });
  }
  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean {
    this.received.push(...this.decoder.push(Buffer.from(chunk)));
    if (callback) process.nextTick(callback);
    return true;
  }
  /** The broker sends packets (in one chunk). */
  send(...packets: Packet[]): void {
    this.emit('data', Buffer.concat(packets.map((p) => encodePacket(p, this.version))));
  }
  end(): void {
    this.destroy();
  }
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    process.nextTick(() => this.emit('close'));
  }
}

/** Polls without a timer interval: these tests run on fake connections that settle within a few ticks. */
const until = (predicate: () => boolean, timeoutMs = 2000) => eventually(predicate, 'the condition', timeoutMs, 0);

/** `then` runs after a report was recorded (e.g. to act as the client would). */
function setup(options: MqttClientOptions = {}, then: Partial<ConnectionListener> = {}, clock?: FakeClock) {
  const version: ProtocolVersion = 5;
  const streams: MemoryStream[] = [];
  const events: string[] = [];
  const listener: ConnectionListener = {
    up: (c) => events.push(`up:${c.sessionPresent}`),
    packet: (p) => {
      events.push(`packet:${p.type}`);
      then.packet?.(p);
    },
    down: (lost) => {
      events.push(`down:${lost.reasonCode ?? lost.error?.constructor.name ?? 'closed'}`);
      then.down?.(lost);
    },
    lost: (reconnect) => events.push(`lost:${reconnect}`),
    reconnecting: (e) => events.push(`reconnecting:${e.attempt}`),
    gaveUp: (e) => events.push(`gaveUp:${e.constructor.name}`),
    closing: () => events.push('closing'),
    error: (e) => events.push(`error:${e.constructor.name}`),
  };
  const transport = async () => {
    const s = new MemoryStream(version);
    streams.push(s);
    return s;
  };
  const connection = new Connection(
    {
      url: new URL('mqtt://memory'),
      options: resolveClientOptions({
        keepalive: 0,
        reconnect: { initialDelay: 1, maxDelay: 1, jitter: 0 },
        ...options,
        transport,
      }),
      protocolVersion: version,
      clientId: () => 'cid',
      clock,
    },
    listener,
  );
  /** The stream of connection attempt `i`, once it wrote CONNECT. */
  const stream = async (i: number): Promise<MemoryStream> => {
    await until(() => streams[i]?.received[0]?.type === 'connect');
    return streams[i] as MemoryStream;
  };
  return { connection, events, stream, streams };
}

const connack = (sessionPresent = false): Packet => ({ type: 'connack', sessionPresent, reasonCode: 0 });

describe('Connection (no network)', () => {
  it('reports up before the packets that follow CONNACK in the same chunk, then each packet', async () => {
    const { connection, events, stream } = setup();
    const started = connection.start();
    const s = await stream(0);
    expect(s.received[0]).toMatchObject({ type: 'connect', clientId: 'cid', cleanStart: true });
    s.send(connack(), { type: 'pingresp' }, { type: 'suback', packetId: 1, reasonCodes: [0] });
    await started;
    expect(events).toEqual(['up:false', 'packet:pingresp', 'packet:suback']);
    await connection.close({});
  });

  it('writes only while the link is up', async () => {
    const { connection, stream } = setup();
    const pingreq = encodePacket({ type: 'pingreq' }, 5);
    expect(connection.write(pingreq)).toBe(false);
    const started = connection.start();
    (await stream(0)).send(connack());
    await started;
    expect(connection.write(pingreq)).toBe(true);
    await connection.close({});
    expect(connection.write(pingreq)).toBe(false);
  });

  it('close(): DISCONNECT, closing, then down — never lost, no reconnect', async () => {
    const { connection, events, stream, streams } = setup();
    const started = connection.start();
    const s = await stream(0);
    s.send(connack());
    await started;
    await connection.close({ reasonCode: 0 });
    expect(s.received.at(-1)).toMatchObject({ type: 'disconnect', reasonCode: 0 });
    expect(events).toEqual(['up:false', 'closing', 'down:closed']);
    s.send({ type: 'pingresp' }); // after close(): not processed
    expect(events).toHaveLength(3);
    expect(streams).toHaveLength(1);
  });

  it('a lost link: down, lost(true), then up again resuming the session (cleanStart false)', async () => {
    const { connection, events, stream } = setup();
    const started = connection.start();
    const first = await stream(0);
    first.send(connack());
    await started;
    first.destroy();
    const second = await stream(1);
    expect(second.received[0]).toMatchObject({ type: 'connect', cleanStart: false });
    second.send(connack(true));
    await until(() => events.length === 4);
    expect(events).toEqual(['up:false', 'down:MqttDisconnectedError', 'lost:true', 'up:true']);
    await connection.close({});
  });

  it("close() called by the 'down' report itself (a 'disconnect' listener): no lost, no reconnect", async () => {
    let closed: Promise<void> | undefined;
    const { connection, events, stream, streams } = setup(
      {},
      {
        down: () => {
          closed = connection.close({});
        },
      },
    );
    const started = connection.start();
    const s = await stream(0);
    s.send(connack());
    await started;
    s.destroy();
    await until(() => closed !== undefined);
    await closed;
    expect(events).toEqual(['up:false', 'down:MqttDisconnectedError']);
    expect(streams).toHaveLength(1);
  });

  it("reconnect: false — the server's DISCONNECT: down with its reason code, lost(false), nothing more", async () => {
    const { connection, events, stream, streams } = setup(
      { reconnect: false },
      { packet: (p) => p.type === 'disconnect' && connection.onServerDisconnect(p) }, // as the client does
    );
    const started = connection.start();
    const s = await stream(0);
    s.send(connack());
    await started;
    s.send({ type: 'disconnect', reasonCode: 0x8b });
    await until(() => events.length === 4);
    expect(events).toEqual(['up:false', 'packet:disconnect', 'down:139', 'lost:false']);
    expect(streams).toHaveLength(1);
  });

  it('a refused CONNACK rejects start() with MqttConnectError; attempts are bounded, each announced', async () => {
    const { connection, events, stream } = setup({ reconnect: { maxAttempts: 2, initialDelay: 1, jitter: 0 } });
    const started = connection.start();
    (await stream(0)).send({ type: 'connack', sessionPresent: false, reasonCode: 0x88 });
    (await stream(1)).send({ type: 'connack', sessionPresent: false, reasonCode: 0x88 });
    await expect(started).rejects.toMatchObject({ constructor: MqttConnectError, reasonCode: 0x88 });
    expect(events).toEqual(['reconnecting:2']);
  });

  it('a protocol error on the live link: error, DISCONNECT with its reason code, down with it', async () => {
    const { connection, events, stream } = setup(
      { reconnect: false },
      {
        packet: () => {
          throw new MqttProtocolError('unexpected', 0x82);
        },
      },
    );
    const started = connection.start();
    const s = await stream(0);
    s.send(connack());
    await started;
    s.send({ type: 'pingresp' });
    await until(() => events.length === 5);
    expect(events).toEqual(['up:false', 'packet:pingresp', 'error:MqttProtocolError', 'down:130', 'lost:false']);
    expect(s.received.at(-1)).toMatchObject({ type: 'disconnect', reasonCode: 0x82 });
  });

  it("keepalive on a fake clock: the server's Server Keep Alive (1 s) wins over ours (60 s); silence is 0x8D", async () => {
    const clock = new FakeClock();
    const { connection, events, stream } = setup({ keepalive: 60, reconnect: false }, {}, clock);
    const started = connection.start();
    const s = await stream(0);
    expect(s.received[0]).toMatchObject({ type: 'connect', keepalive: 60 });
    s.send({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { serverKeepAlive: 1 } });
    await started;
    clock.advance(250); // nothing written since CONNECT: the first check pings
    expect(s.received.filter((p) => p.type === 'pingreq')).toHaveLength(1);
    clock.advance(1249); // 1.5 s after the CONNACK, less 1 ms
    expect(events).toEqual(['up:false']);
    clock.advance(1);
    await until(() => events.length === 4);
    expect(events).toEqual(['up:false', 'error:MqttProtocolError', 'down:141', 'lost:false']);
    expect(s.received.at(-1)).toMatchObject({ type: 'disconnect', reasonCode: 0x8d });
  });

  it('Server Keep Alive 0 turns keepalive off even when we asked for 1 s', async () => {
    const clock = new FakeClock();
    const { connection, stream } = setup({ keepalive: 1 }, {}, clock);
    const started = connection.start();
    const s = await stream(0);
    s.send({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { serverKeepAlive: 0 } });
    await started;
    expect(clock.pending).toBe(0);
    clock.advance(3_600_000);
    expect(s.received.filter((p) => p.type === 'pingreq')).toEqual([]);
    await connection.close({});
  });

  it('our keepalive when the server sets none; a close stops it', async () => {
    const clock = new FakeClock();
    const { connection, stream } = setup({ keepalive: 2 }, {}, clock);
    const started = connection.start();
    const s = await stream(0);
    s.send(connack());
    await started;
    clock.advance(500); // a quarter of 2 s
    expect(s.received.filter((p) => p.type === 'pingreq')).toHaveLength(1);
    await connection.close({});
    expect(clock.pending).toBe(0);
  });
});
