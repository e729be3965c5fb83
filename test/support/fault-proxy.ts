import net from 'node:net';
import { type Packet, PacketDecoder } from '../../lib/driver/codec/index.js';
import { freePort } from './ports.js';

/** Sees each MQTT 5 packet the proxy forwards, with the client identifier of the link's CONNECT. */
export type PacketWatcher = (packet: Packet, from: 'client' | 'broker', clientId: string) => void;

export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  /** Connections cut so far (by `cutAll` or random cutting). */
  readonly cuts: number;
  /** Number of client connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection pair at once. */
  cutAll(): void;
  /** Cuts one open connection pair chosen at random (no-op when none is open). */
  cutRandom(): void;
  /** Cuts one random open connection pair every `msMin`–`msMax` ms, until `stopCutting()`. */
  cutRandomlyEvery(msMin: number, msMax: number): void;
  stopCutting(): void;
  /** Blackholes traffic both ways without closing the sockets (a dead link): bytes are dropped, not held. */
  pause(): void;
  /** Forwards again; connections that lost bytes while paused are cut (their MQTT stream is corrupt). */
  resume(): void;
  /**
   * Decodes what the proxy forwards (MQTT 5) and hands each packet to `watcher` until the returned function is
   * called: a test can see what the broker really sent. Links opened before the call are not decoded.
   */
  watch(watcher: PacketWatcher): () => void;
  /** Stops cutting, closes the listener and every connection. Idempotent. */
  stop(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  lostBytes: boolean;
  /** From the CONNECT, when packets are watched. */
  clientId: string;
}

/** A TCP proxy on a free loopback port in front of `127.0.0.1:targetPort`, able to inject link faults. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let paused = false;
  let cuts = 0;
  let accepted = 0;
  let timer: NodeJS.Timeout | undefined;
  const watchers = new Set<PacketWatcher>();

  const destroy = (pair: Pair): void => {
    if (!pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  };

  const pipe = (pair: Pair, from: net.Socket, to: net.Socket, side: 'client' | 'broker'): void => {
    // Decoded only on links opened while someone watches; a link that lost bytes (paused) is cut at resume.
    let decoder = watchers.size > 0 ? new PacketDecoder({ protocolVersion: 5 }) : undefined;
    from.on('data', (chunk: Buffer) => {
      if (paused) {
        pair.lostBytes = true;
        return;
      }
      if (decoder && !pair.lostBytes) {
        let packets: Packet[] = [];
        try {
          packets = decoder.push(Buffer.from(chunk));
        } catch {
          decoder = undefined; // not MQTT 5 (a test of garbage): forwarded, no longer decoded
        }
        for (const packet of packets) {
          if (packet.type === 'connect') pair.clientId = packet.clientId;
          for (const watcher of watchers) watcher(packet, side, pair.clientId);
        }
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  };

  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream, lostBytes: false, clientId: '' };
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    pipe(pair, client, upstream, 'client');
    pipe(pair, upstream, client, 'broker');
    for (const socket of [client, upstream]) {
      socket.on('error', () => destroy(pair));
      socket.on('close', () => destroy(pair));
    }
  });

  const cutOne = (): void => {
    const list = [...pairs];
    if (list.length === 0) return;
    cuts++;
    destroy(list[Math.floor(Math.random() * list.length)] as Pair);
  };

  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  let stopping: Promise<void> | undefined;

  const proxy: FaultProxy = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get cuts() {
      return cuts;
    },
    get accepted() {
      return accepted;
    },
    cutAll() {
      for (const pair of [...pairs]) {
        cuts++;
        destroy(pair);
      }
    },
    cutRandom: cutOne,
    cutRandomlyEvery(msMin, msMax) {
      proxy.stopCutting();
      const schedule = (): void => {
        timer = setTimeout(
          () => {
            cutOne();
            schedule();
          },
          msMin + Math.random() * (msMax - msMin),
        );
      };
      schedule();
    },
    stopCutting() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const pair of [...pairs]) if (pair.lostBytes) destroy(pair);
    },
    watch(watcher) {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        proxy.stopCutting();
        for (const pair of [...pairs]) destroy(pair);
        server.close(() => resolve());
      });
      return stopping;
    },
  };
  return proxy;
}
