/** Loopback helpers for the benchmarks and the soak (plain node: test/support's TypeScript helpers need Jest). */
import net from 'node:net';

/**
 * A loopback TCP port that was free a moment ago (the OS picks it).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once `port` accepts a TCP connection; rejects naming `what` after `timeoutMs`.
 * @param {number} port
 */
export async function waitForPort(port, what = 'mosquitto', timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
}
