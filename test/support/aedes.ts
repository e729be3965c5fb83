import net from 'node:net';
import { freePort } from './ports.js';

/** The parts of an aedes broker the tests use. */
export interface AedesBroker {
  handle: (socket: net.Socket) => void;
  close(callback?: () => void): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface AedesHandle {
  readonly url: string;
  readonly port: number;
  readonly broker: AedesBroker;
  /** Closes the listener, every client socket and the broker. Idempotent. */
  stop(): Promise<void>;
}

async function createBroker(version: 4 | 5): Promise<AedesBroker> {
  const mod = (version === 5 ? await import('aedes-v5') : await import('aedes')) as unknown as {
    Aedes: { createBroker(options?: object): Promise<AedesBroker> };
  };
  return mod.Aedes.createBroker();
}

/**
 * Starts an in-process aedes broker on a free loopback port: `version: 4` (default) is aedes 1.x (MQTT 3.1.1
 * only), `version: 5` is aedes 2.0.0-beta.1 (MQTT 5, no `$share`).
 */
export async function startAedes(options: { version?: 4 | 5 } = {}): Promise<AedesHandle> {
  const broker = await createBroker(options.version ?? 4);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    broker,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => broker.close(() => resolve()));
      });
      return stopping;
    },
  };
}
