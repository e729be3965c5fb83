import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect } from '../../../lib/driver/index.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { nextEvent, settlesWithin, take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

describeMosquitto('server-assigned client identifier (MQTT 5)', () => {
  let broker: MosquittoHandle;
  let proxy: FaultProxy;
  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await startFaultProxy(broker.port);
  });
  afterAll(async () => {
    await proxy?.stop();
    await broker?.stop();
  });

  it('an empty clientId gets the broker-assigned one, which the reconnect reuses to resume the session', async () => {
    const c = await connect(proxy.url, {
      clientId: '',
      cleanStart: false,
      sessionExpiryInterval: 60,
      reconnect: { initialDelay: 10, maxDelay: 50 },
    });
    try {
      const assigned = c.clientId;
      expect(assigned).not.toBe('');
      expect(c.serverProperties?.assignedClientIdentifier).toBe(assigned);
      const sub = await c.subscribe('assigned/t', { qos: 1 });
      const resumed = nextEvent(c, 'connect');
      proxy.cutAll();
      const [event] = await settlesWithin(resumed, 10_000, 'reconnect');
      expect(event.sessionPresent).toBe(true);
      expect(c.clientId).toBe(assigned);
      const pub = await connect(broker.url);
      await pub.publish('assigned/t', 'after the cut', { qos: 1 });
      await pub.disconnect();
      expect((await take(sub, 1)).map((m) => m.payload.toString())).toEqual(['after the cut']);
    } finally {
      await c.disconnect({ sessionExpiryInterval: 0 });
    }
  });
});
