/**
 * Soak infrastructure for plain node (the jest-side helpers in test/support import @jest/globals): a TCP proxy
 * that cuts connections. The soak's mosquitto is bench/lib/mosquitto.mjs with `persistent: true`.
 */
import net from 'node:net';
import { freePort } from '../lib/net.mjs';

/**
 * A TCP proxy in front of 127.0.0.1:targetPort; `cutRandom()` destroys one open connection pair.
 * @param {number} targetPort
 */
export async function startCutProxy(targetPort) {
  /** @typedef {{ client: net.Socket, upstream: net.Socket }} Pair */
  /** @type {Set<Pair>} */
  const pairs = new Set();
  let cuts = 0;
  let held = false;
  /** @param {Pair} pair */
  const destroy = (pair) => {
    if (!pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  };
  const server = net.createServer((client) => {
    if (held) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', () => destroy(pair));
      s.on('close', () => destroy(pair));
    }
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(undefined)));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    /** Refuses new connections (closes them at once) until `release()`. */
    hold() {
      held = true;
    },
    release() {
      held = false;
    },
    get openConnections() {
      return pairs.size;
    },
    cutRandom() {
      const list = [...pairs];
      if (list.length === 0) return;
      cuts++;
      destroy(list[Math.floor(Math.random() * list.length)]);
    },
    stop() {
      for (const pair of [...pairs]) destroy(pair);
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
