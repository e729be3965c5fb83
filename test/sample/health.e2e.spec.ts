/**
 * The sample's `GET /health` (terminus + `MqttAsyncHealthIndicator`) on a broker the test controls: 200 with the
 * round trip while the broker answers, 503 with the reason, within the check's bound, once the broker is gone.
 */
import { describe, expect, it } from '@jest/globals';
import { startEmbeddedBroker } from '../../sample/broker/embedded-broker.js';
import { HEALTH_TIMEOUT_MS } from '../../sample/health.controller.js';
import { startSample } from '../../sample/main.js';
import { settlesWithin } from '../support/messages.js';

interface HealthBody {
  status: string;
  info?: Record<string, { status: string; rttMs?: number; roundTrip?: string }>;
  error?: Record<string, { status: string; message?: string; state?: string }>;
}

async function health(httpUrl: string): Promise<{ code: number; body: HealthBody }> {
  const res = await fetch(`${httpUrl}/health`);
  return { code: res.status, body: (await res.json()) as HealthBody };
}

describe('sample GET /health', () => {
  it('200 with rttMs while the broker answers; 503 with the reason, within the check bound, once it is gone', async () => {
    const broker = await startEmbeddedBroker({ port: 0 });
    const sample = await startSample({ mqttUrl: broker.url, httpPort: 0, logger: false });
    try {
      const up = await health(sample.httpUrl);
      expect(up).toEqual({
        code: 200,
        body: expect.objectContaining({
          status: 'ok',
          info: {
            mqtt: { status: 'up', rttMs: expect.any(Number), roundTrip: 'ping' },
            'mqtt-roundtrip': { status: 'up', rttMs: expect.any(Number), roundTrip: 'topic' },
          },
        }),
      });

      await broker.close();
      // Bounded by the checks' timeout (plus slack for a busy machine): an outage is reported, never a hang.
      const down = await settlesWithin(health(sample.httpUrl), HEALTH_TIMEOUT_MS + 4_000, 'GET /health while down');
      expect(down.code).toBe(503);
      expect(down.body.status).toBe('error');
      expect(down.body.error).toEqual({
        mqtt: { status: 'down', message: expect.any(String), state: expect.any(String) },
        'mqtt-roundtrip': { status: 'down', message: expect.any(String), state: expect.any(String) },
      });
    } finally {
      await sample.close();
      await broker.close();
    }
  }, 30_000);
});
