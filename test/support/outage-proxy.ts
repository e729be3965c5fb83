import net from 'node:net';
import { listenOnLoopback } from './ports.js';

/** A TCP proxy in front of `127.0.0.1:targetPort` that can take the "broker" down and bring it back. */
export interface OutageProxy {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far (refused ones included). */
  readonly accepted: number;
  /** Starts an outage: cuts every open connection; new ones are closed at once until `up()`. */
  down(): void;
  /** Ends the outage: new connections are forwarded again. */
  up(): void;
  /** Closes the listener and every connection. Idempotent. */
  stop(): Promise<void>;
}

/** Starts an {@link OutageProxy} on a free loopback port (up). */
export async function startOutageProxy(targetPort: number): Promise<OutageProxy> {
  const open = new Set<net.Socket>();
  let isDown = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    client.on('error', () => undefined);
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('error', () => undefined);
    for (const s of [client, upstream]) {
      open.add(s);
      s.once('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listenOnLoopback(server);
  let stopping: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    down() {
      isDown = true;
      for (const s of [...open]) s.destroy();
    },
    up() {
      isDown = false;
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const s of [...open]) s.destroy();
        server.close(() => resolve());
      });
      return stopping;
    },
  };
}
