import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { encodePacket, PacketDecoder } from '../../../lib/driver/codec/index.js';
import type { Packet } from '../../../lib/driver/codec/packets.js';
import { connect, MqttDisconnectedError } from '../../../lib/driver/index.js';
import { nextEvent, settlesWithin } from '../../support/messages.js';

/** A broker that accepts one MQTT 5 connection and runs `script` on it (mosquitto 2.0 never sends DISCONNECT). */
async function scriptedBroker(script: (send: (p: Packet) => void, socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const decoder = new PacketDecoder({ protocolVersion: 5 });
    const send = (p: Packet) => socket.write(encodePacket(p, 5));
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const p of decoder.push(chunk)) {
        if (p.type === 'connect') {
          send({ type: 'connack', sessionPresent: false, reasonCode: 0 });
          script(send, socket);
        } else if (p.type === 'disconnect') socket.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('a DISCONNECT from the server', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => stop?.());

  it('reaches the disconnect event with its reason code and reason string, and is not answered as an error', async () => {
    const received: string[] = [];
    const broker = await scriptedBroker((send, socket) => {
      socket.on('data', () => received.push('data'));
      setTimeout(() => {
        send({ type: 'disconnect', reasonCode: 0x8b, properties: { reasonString: 'maintenance window' } });
        socket.end();
      }, 20);
    });
    stop = broker.close;
    const c = await connect(broker.url, { reconnect: false });
    const [event] = await settlesWithin(nextEvent(c, 'disconnect'), 10_000, 'disconnect event');
    expect(event.reasonCode).toBe(0x8b);
    expect(event.reasonString).toBe('maintenance window');
    expect(event.error).toBeInstanceOf(MqttDisconnectedError);
    expect(event.error?.message).toContain('0x8b Server shutting down (maintenance window)');
    expect(received).toEqual([]);
    await c.disconnect();
    expect(c.status).toBe('closed');
  });

  it('rejects in-flight publishes once the client gives up', async () => {
    const broker = await scriptedBroker((send, socket) => {
      socket.once('data', () => {
        send({ type: 'disconnect', reasonCode: 0x97 });
        socket.end();
      });
    });
    stop = broker.close;
    const c = await connect(broker.url, { reconnect: false });
    const publish = c.publish('t', 'x', { qos: 1 });
    await expect(settlesWithin(publish, 10_000, 'publish')).rejects.toBeInstanceOf(MqttDisconnectedError);
    await c.disconnect();
  });
});
