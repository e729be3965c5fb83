import net from 'node:net';
import { Duplex } from 'node:stream';
import { encodePacket, type Packet, PacketDecoder } from '../../lib/driver/codec/index.js';
import { CONNECT, FrameSplitter, frameType, SUBSCRIBE, UNSUBSCRIBE } from './frames.js';
import { SharedGroups } from './shared-groups.js';

/** The parts of an aedes broker used here. */
interface Aedes {
  handle(conn: Duplex): void;
  close(callback?: () => void): void;
  authorizeForward: (client: { conn?: object }, packet: AedesPacket) => unknown;
}

interface AedesPacket {
  topic: string;
  brokerId: string;
  brokerCounter: number;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Closes the listener, every connection and the broker. */
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  /** Port to try first (default 1883); when it is taken a free port is used. 0 picks a free port at once. */
  port?: number;
  host?: string;
}

/**
 * Starts aedes 2 (MQTT 5 and 3.1.1) in-process and adds the one thing it lacks for the sample: `$share` groups.
 * aedes refuses `$share/...` SUBSCRIBEs from MQTT 5 clients (0x9E), so each connection's SUBSCRIBE/UNSUBSCRIBE
 * packets are rewritten to the plain filter before aedes sees them, and aedes' `authorizeForward` hook hands each
 * message to one member per group. Every other packet passes through untouched.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const { Aedes } = (await import('aedes-v5')) as unknown as {
    Aedes: { createBroker(options?: object): Promise<Aedes> };
  };
  const groups = new SharedGroups();
  const broker = await Aedes.createBroker({
    authorizeForward: (client: { conn?: object }, packet: AedesPacket) =>
      client.conn && !groups.allow(client.conn, packet, `${packet.brokerId}:${packet.brokerCounter}`) ? null : packet,
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(new SharedSubscriptionConnection(socket, groups));
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 1883, host);
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => broker.close(() => resolve()));
      });
      return closing;
    },
  };
}

async function listen(server: net.Server, port: number, host: string): Promise<number> {
  const attempt = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await attempt(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    await attempt(0);
  }
  return (server.address() as net.AddressInfo).port;
}

/** The socket as aedes sees it: client-to-broker packets pass through {@link rewrite}, the rest is untouched. */
class SharedSubscriptionConnection extends Duplex {
  private readonly frames = new FrameSplitter();
  private readonly decoder = new PacketDecoder({ protocolVersion: 5 });

  constructor(
    private readonly socket: net.Socket,
    private readonly groups: SharedGroups,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.frames.push(chunk)) {
        if (!this.push(this.rewrite(frame))) socket.pause();
      }
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      groups.drop(this);
      this.destroy();
    });
  }

  private rewrite(frame: Buffer): Buffer {
    const type = frameType(frame);
    if (type !== CONNECT && type !== SUBSCRIBE && type !== UNSUBSCRIBE) return frame;
    let packet: Packet | undefined;
    try {
      packet = this.decoder.push(frame)[0];
    } catch {
      return frame; // malformed: aedes rejects it
    }
    if (packet?.type === 'subscribe' && packet.subscriptions.some((s) => s.topicFilter.startsWith('$share/'))) {
      for (const s of packet.subscriptions) s.topicFilter = this.groups.join(this, s.topicFilter);
      return encodePacket(packet, this.decoder.protocolVersion);
    }
    if (packet?.type === 'unsubscribe' && packet.topicFilters.some((f) => f.startsWith('$share/'))) {
      packet.topicFilters = packet.topicFilters.map((f) => this.groups.leave(this, f));
      return encodePacket(packet, this.decoder.protocolVersion);
    }
    return frame;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _final(callback: () => void): void {
    this.socket.end(callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.groups.drop(this);
    this.socket.destroy();
    callback(err);
  }
}
