import net from 'node:net';
import { expect, it } from '@jest/globals';
import { connect } from '../../lib/driver/index.js';
import { describeMosquitto, startMosquitto } from './mosquitto.js';
import { freePort, listenOnLoopback } from './ports.js';

describeMosquitto('startMosquitto() when its port is taken before mosquitto binds it', () => {
  it('starts mosquitto on another port, never handing out the other listener', async () => {
    // Holds the port as another test's listener would; it answers nothing, as no broker would.
    const squatter = net.createServer((socket) => socket.on('error', () => undefined));
    const taken = await listenOnLoopback(squatter);
    const picks = [taken];
    try {
      const broker = await startMosquitto({ pickPort: async () => picks.shift() ?? freePort() });
      try {
        expect(broker.port).not.toBe(taken);
        const client = await connect(broker.url, { reconnect: false, connectTimeout: 10_000 });
        // A PUBACK: an MQTT broker answered (0x10, no subscribers).
        expect((await client.publish('ports/check', 'x', { qos: 1 })).reasonCode).toBeLessThan(0x80);
        await client.disconnect();
      } finally {
        await broker.stop();
      }
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});
