/**
 * Attack 6 (issue 19): messages held for no subscription survived reconnects. The bound on held QoS 1/2 messages
 * was per connection, so a malicious broker that reconnected the client and sent more each time grew the held set
 * without limit (461,274 after 4 reconnects, 826 MB). Now one bound counts across reconnects, and a session the
 * broker did not resume drops what was held for it.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { DisconnectPacket, PublishPacket } from '../../../lib/driver/codec/packets.js';
import { connect, type MqttClient, MqttMessageDroppedError, MqttProtocolError } from '../../../lib/driver/index.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin, take, until } from '../../support/messages.js';

const broker = useFakeBroker();
const clients: MqttClient[] = [];
afterEach(async () => {
  // Reconnecting at once, a client left running would spin against the next test's broker.
  for (const c of clients.splice(0)) await c.disconnect().catch(() => undefined);
});

const publish = (packetId: number, topic = 'held/x', qos: 0 | 1 = 1): PublishPacket => ({
  type: 'publish',
  topic,
  qos,
  ...(qos > 0 ? { packetId } : {}),
  retain: false,
  dup: false,
  payload: Buffer.from(String(packetId)),
});

/** A v5 client with a persistent session that reconnects at once; collects its errors. */
async function start(options: Parameters<typeof connect>[1] = {}) {
  const pending = connect(broker.url, {
    protocolVersion: 5,
    keepalive: 0,
    cleanStart: false,
    sessionExpiryInterval: 3600,
    clientId: 'victim',
    reconnect: { initialDelay: 20, maxDelay: 200 },
    ...options,
  });
  const conn = await broker.nextConnection();
  conn.autoRespond();
  await conn.handshake();
  const client: MqttClient = await pending;
  clients.push(client);
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  return { client, conn, errors };
}

/** Cuts the link and accepts the reconnect (session resumed or not). */
async function reconnect(conn: { close(): void }, sessionPresent: boolean) {
  conn.close();
  const next = await broker.nextConnection();
  next.autoRespond();
  await next.handshake({ sessionPresent });
  return next;
}

describe('attack: held unrouted messages across reconnects', () => {
  it('the QoS 1/2 bound counts every connection: the one beyond it is a 0x93 protocol error', async () => {
    const { client, conn, errors } = await start({ receiveMaximum: 10, receiveMaximumTolerance: 0 });
    let id = 1;
    for (let i = 0; i < 8; i++) conn.send(publish(id++));
    await client.subscribe('probe/#', { qos: 1 }); // its SUBACK comes after the 8: they were read
    let next = await reconnect(conn, true);
    for (let i = 0; i < 8; i++) next.send(publish(id++));
    await settlesWithin(next.closed, 5000, 'the client closing the flooded connection');
    const disconnect = next.received.find((p): p is DisconnectPacket => p.type === 'disconnect');
    expect(disconnect?.reasonCode).toBe(0x93);
    expect(errors.some((e) => e instanceof MqttProtocolError && e.reasonCode === 0x93)).toBe(true);
    next = await broker.nextConnection();
    await client.disconnect();
  });

  it('a session the broker did not resume drops what was held for it; a new message is delivered', async () => {
    const { client, conn, errors } = await start();
    for (let i = 1; i <= 5; i++) conn.send(publish(i));
    for (let i = 1; i <= 3; i++) conn.send(publish(0, 'held/q0', 0));
    // Sentinel: a SUBACK for a later subscribe proves the held messages were read by the client.
    const probe = await client.subscribe('probe/#', { qos: 1 });
    const next = await reconnect(conn, false);
    await until(() => errors.some((e) => e instanceof MqttMessageDroppedError), 5000, 'the drop report');
    expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/^8 message\(s\) held .* dropped/));
    const sub = await client.subscribe('held/#', { qos: 1 });
    next.send(publish(100, 'held/fresh'));
    const [first] = await take(sub, 1);
    expect(first?.topic).toBe('held/fresh');
    await probe.unsubscribe();
    await client.disconnect();
  });
});
