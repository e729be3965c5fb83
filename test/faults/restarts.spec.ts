/**
 * A short slice of `npm run faults:restarts` (issue 11): RPC and QoS 1 events flow while mosquitto is stopped and
 * started again with outages of 0.5–1.5 s, DEFAULT reconnect options. The service answers after every restart,
 * no QoS 1 event whose emit() resolved is lost (persistent sessions), nothing stays unsettled past its bound,
 * and the server never gives up.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { ClientMqttAsync, ServerMqttAsync } from '../../lib/nest/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../support/mosquitto.js';
import { runRestarts } from './restarts-core.mjs';

describeMosquitto('broker restarts with default options (mosquitto, persistence)', () => {
  let broker: MosquittoHandle;

  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('answers after every restart, loses no QoS 1 event, leaves nothing unsettled, never gives up', async () => {
    const result = await runRestarts({ ServerMqttAsync, ClientMqttAsync }, broker, {
      restarts: 2,
      outage: [500, 1500],
      steadyMs: 500,
      requestTimeout: 5000,
    });
    if (result.unsettledPastBound > 0 || result.events.lost > 0) console.error(JSON.stringify(result, null, 2));
    expect(result.restarts.map((r) => r.recoveryMs !== null)).toEqual([true, true]);
    expect(result.events.emitted).toBeGreaterThan(0);
    expect(result.events.lostExamples).toEqual([]);
    expect(result.unsettledPastBound).toBe(0);
    expect(result.rpc.ok).toBeGreaterThan(0);
    expect(result.rpc.wrong).toBe(0);
    expect(result.serverGaveUp).toBeNull();
    expect(result.exited).toBe(false);
  }, 60_000);
});
