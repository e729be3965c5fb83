/**
 * Attack 5 (issue 19): no limits by default. A malicious broker's 200 MB PUBLISH was accepted (the protocol's
 * 256 MB maximum applied), and `ClientMqttAsync` let 200,000 `send()` calls wait at once (+437 MB heap). Now both
 * Nest classes default to `maximumPacketSize` 1 MiB (advertised in CONNECT on MQTT 5, enforced on 3.1.1 too) and
 * `ClientMqttAsync` caps waiting `send()` calls at `maxPendingRequests` (10,000) with a typed error.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import type { DisconnectPacket } from '../../../lib/driver/codec/packets.js';
import {
  ClientMqttAsync,
  DEFAULT_MAXIMUM_PACKET_SIZE,
  MqttAsyncError,
  MqttAsyncTooManyRequestsError,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin } from '../../support/messages.js';

const broker = useFakeBroker();
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
});

/** Connects a server or client to the fake broker; returns what the broker saw. */
async function connectTo(kind: 'server' | 'client', protocolVersion: 4 | 5) {
  const options = { url: broker.url, protocolVersion, reconnect: false as const, keepalive: 0 };
  let ready: Promise<unknown>;
  if (kind === 'server') {
    const server = new ServerMqttAsync(options);
    closers.push(() => server.close());
    ready = server.listen(() => undefined);
  } else {
    const client = new ClientMqttAsync(options);
    closers.push(() => client.close());
    ready = client.connect();
  }
  const conn = await broker.nextConnection();
  conn.autoRespond();
  const connect = await conn.handshake();
  await ready;
  return { conn, connect };
}

describe('attack: oversized packets from a malicious broker', () => {
  for (const kind of ['server', 'client'] as const) {
    for (const v of [5, 4] as const) {
      it(`${kind}, v${v}: advertises 1 MiB (v5) and closes on a 2 MiB PUBLISH instead of buffering it`, async () => {
        const { conn, connect } = await connectTo(kind, v);
        if (v === 5) expect(connect.properties?.maximumPacketSize).toBe(DEFAULT_MAXIMUM_PACKET_SIZE);
        conn.send({
          type: 'publish',
          topic: 'any/topic',
          qos: 0,
          retain: false,
          dup: false,
          payload: Buffer.alloc(2 * 1024 * 1024, 1),
        });
        await settlesWithin(conn.closed, 5000, 'the connection closing');
        const disconnect = conn.received.find((p): p is DisconnectPacket => p.type === 'disconnect');
        if (v === 5) expect(disconnect?.reasonCode).toBe(0x95);
      });
    }
  }

  it('maximumPacketSize raises the bound', async () => {
    const client = new ClientMqttAsync({ url: broker.url, maximumPacketSize: 8 * 1024 * 1024, reconnect: false });
    closers.push(() => client.close());
    const ready = client.connect();
    const conn = await broker.nextConnection();
    conn.autoRespond();
    expect((await conn.handshake()).properties?.maximumPacketSize).toBe(8 * 1024 * 1024);
    await ready;
  });
});

describe('attack: unbounded pending send() calls', () => {
  it('the 10,001st waiting send() fails at once with MqttAsyncTooManyRequestsError (0x97) and sends nothing', async () => {
    const memory = new MqttAsyncTestBroker({ protocolVersion: 5 });
    closers.push(() => memory.close());
    const client = memory.createClient({ requestTimeout: 60_000 });
    closers.push(() => client.close());
    await client.connect();
    const waiting = Array.from({ length: 10_000 }, (_, n) => firstValueFrom(client.send('nobody/answers', { n })));
    for (const w of waiting) w.catch(() => undefined);
    const before = memory.published('nobody/answers').length;
    const err = await settlesWithin(
      firstValueFrom(client.send('nobody/answers', { n: 'one too many' })).then(
        () => undefined,
        (e: unknown) => e,
      ),
      5000,
      'the send() beyond the cap',
    );
    expect(err).toBeInstanceOf(MqttAsyncTooManyRequestsError);
    expect(err).toBeInstanceOf(MqttAsyncError);
    expect((err as MqttAsyncError).reasonCode).toBe(0x97);
    expect(memory.published('nobody/answers').length).toBe(before);
  });
});
