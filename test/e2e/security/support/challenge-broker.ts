import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { encodePacket, type Packet, PacketDecoder } from '../../../../lib/driver/codec/index.js';
import { freePort } from '../../../support/ports.js';

export const METHOD = 'X-HMAC-CHALLENGE';

/** HMAC-SHA256 of the parts, keyed by the shared secret. */
export function proof(key: string, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

export interface ChallengeBrokerOptions {
  /** Shared secret the broker checks the client's proofs against. */
  key: string;
  /** AUTH challenges per connect (default 2): a multi-step exchange. */
  rounds?: number;
  /** Key the broker signs its own final proof with (default `key`; another one simulates an impostor). */
  serverKey?: string;
}

export interface ChallengeBroker {
  readonly url: string;
  /** Every packet received, per connection. */
  readonly connections: Packet[][];
  /** Destroys every client socket (the client will reconnect). */
  cutAll(): void;
  stop(): Promise<void>;
}

/**
 * A scripted MQTT 5 broker (our codec on a net.Server) that only knows enhanced authentication method
 * `X-HMAC-CHALLENGE`: CONNECT carries a client nonce; each AUTH 0x18 challenge carries a server nonce that the
 * client must answer with HMAC(key, serverNonce ‖ clientNonce); the CONNACK carries the server's own proof
 * HMAC(serverKey, clientNonce). A wrong proof → CONNACK 0x87, another method → CONNACK 0x8C. After CONNACK it
 * acknowledges QoS 1 publishes, answers PINGREQ and runs re-authentication (AUTH 0x19 → one challenge → AUTH 0x00,
 * or DISCONNECT 0x87 on a wrong proof).
 */
export async function startChallengeBroker(options: ChallengeBrokerOptions): Promise<ChallengeBroker> {
  const connections: Packet[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const received: Packet[] = [];
    connections.push(received);
    const decoder = new PacketDecoder({ protocolVersion: 5 });
    const send = (p: Packet) => socket.write(encodePacket(p, 5));
    let clientNonce: Buffer = Buffer.alloc(0);
    let serverNonce: Buffer = Buffer.alloc(0);
    let round = 0;
    let connected = false;
    const challenge = () => {
      serverNonce = randomBytes(16);
      round++;
      send({
        type: 'auth',
        reasonCode: 0x18,
        properties: { authenticationMethod: METHOD, authenticationData: serverNonce },
      });
    };
    const finish = (answer: Buffer | undefined) => {
      const expected = proof(options.key, serverNonce, clientNonce);
      if (!answer || answer.length !== expected.length || !timingSafeEqual(answer, expected)) {
        if (connected) send({ type: 'disconnect', reasonCode: 0x87 });
        else send({ type: 'connack', sessionPresent: false, reasonCode: 0x87 });
        socket.end();
        return false;
      }
      return true;
    };
    socket.on('data', (chunk) => {
      for (const p of decoder.push(chunk)) {
        received.push(p);
        if (p.type === 'connect') {
          if (p.properties?.authenticationMethod !== METHOD) {
            send({ type: 'connack', sessionPresent: false, reasonCode: 0x8c });
            socket.end();
            return;
          }
          clientNonce = p.properties.authenticationData ?? Buffer.alloc(0);
          challenge();
        } else if (p.type === 'auth' && p.reasonCode === 0x19) {
          // Re-authentication on the live connection: a fresh client nonce, one challenge.
          clientNonce = p.properties?.authenticationData ?? Buffer.alloc(0);
          round = 0;
          challenge();
        } else if (p.type === 'auth') {
          if (!finish(p.properties?.authenticationData)) return;
          const properties = {
            authenticationMethod: METHOD,
            authenticationData: proof(options.serverKey ?? options.key, clientNonce),
          };
          if (connected) send({ type: 'auth', reasonCode: 0, properties });
          else if (round < (options.rounds ?? 2)) challenge();
          else {
            connected = true;
            send({ type: 'connack', sessionPresent: false, reasonCode: 0, properties });
          }
        } else if (p.type === 'publish' && p.qos === 1) send({ type: 'puback', packetId: p.packetId as number });
        else if (p.type === 'pingreq') send({ type: 'pingresp' });
        else if (p.type === 'disconnect') socket.end();
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    connections,
    cutAll: () => {
      for (const s of sockets) s.destroy();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
