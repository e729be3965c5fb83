import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { freePort } from '../../../support/ports.js';

export interface WsBrokerOptions {
  /** Where MQTT goes: an in-process aedes (4: aedes 1.x, 5: aedes 2 beta) or a TCP broker port (mosquitto). */
  target: { aedes: 4 | 5 } | { tcpPort: number };
  /** Serve wss:// with this certificate. */
  tls?: { cert: string; key: string };
  /** HTTP status to refuse every upgrade with (tests a failed handshake). */
  refuseWith?: number;
}

export interface WsBroker {
  readonly url: string;
  /** `Sec-WebSocket-Protocol` request header of each accepted connection, in order. */
  readonly requestedProtocols: Array<string | undefined>;
  /** `Authorization` request header of each accepted connection, in order. */
  readonly authorizations: Array<string | undefined>;
  /** Frames received from clients: binary or text. */
  readonly frames: { binary: number; text: number };
  /** Open server-side WebSockets. */
  readonly sockets: Set<WebSocket>;
  stop(): Promise<void>;
}

interface Aedes {
  handle(stream: Duplex): void;
  close(cb?: () => void): void;
}

async function createAedes(version: 4 | 5): Promise<Aedes> {
  const mod = (version === 5 ? await import('aedes-v5') : await import('aedes')) as unknown as {
    Aedes: { createBroker(): Promise<Aedes> };
  };
  return mod.Aedes.createBroker();
}

/**
 * A real MQTT-over-WebSocket listener (ws + createWebSocketStream) on a free loopback port. mosquitto's Debian
 * build here has no websockets support, so MQTT goes to aedes in-process or is bridged to a TCP broker port.
 */
export async function startWsBroker(options: WsBrokerOptions): Promise<WsBroker> {
  const aedes = 'aedes' in options.target ? await createAedes(options.target.aedes) : undefined;
  const tcpPort = 'tcpPort' in options.target ? options.target.tcpPort : undefined;
  const server = options.tls ? https.createServer(options.tls) : http.createServer();
  const requestedProtocols: Array<string | undefined> = [];
  const authorizations: Array<string | undefined> = [];
  const frames = { binary: 0, text: 0 };
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    verifyClient: (_info, cb) => (options.refuseWith ? cb(false, options.refuseWith) : cb(true)),
  });
  wss.on('connection', (socket, req) => {
    requestedProtocols.push(req.headers['sec-websocket-protocol']);
    authorizations.push(req.headers.authorization);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', (_data, isBinary) => {
      if (isBinary) frames.binary++;
      else frames.text++;
    });
    const stream = createWebSocketStream(socket);
    stream.on('error', () => socket.terminate());
    if (aedes) {
      aedes.handle(stream);
      return;
    }
    const upstream = net.connect(tcpPort as number, '127.0.0.1');
    upstream.on('error', () => socket.terminate());
    stream.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.terminate());
    stream.pipe(upstream).pipe(stream);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const scheme = options.tls ? 'wss' : 'ws';
  return {
    url: `${scheme}://127.0.0.1:${port}/mqtt`,
    requestedProtocols,
    authorizations,
    frames,
    sockets,
    async stop() {
      for (const s of sockets) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
