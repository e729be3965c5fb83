import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningSample, startSample } from '../../sample/main.js';
import { runScenario } from '../../sample/scenario.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../support/mosquitto.js';

function expectFullScenario(report: Awaited<ReturnType<typeof runScenario>>) {
  expect(report.temperature).toMatchObject({ deviceId: 't1', celsius: 22.5 });
  expect(report.invalidTemperatureIgnored).toBe(true);
  expect(report.commandReply).toEqual({ id: 't1', op: 'reboot', accepted: true });
  expect(report.invalidCommandError).toContain('op must be one of');
  expect(report.jobs.byService + report.jobs.byOtherMember).toBe(report.jobs.published);
  expect(report.jobs.duplicates).toBe(0);
  expect(report.docs.channels).toEqual(
    expect.arrayContaining([
      'temperature-sensors/{deviceId}/temperature',
      'devices/{id}/cmd',
      'workers/jobs/#',
      'devices/events',
    ]),
  );
  expect(report.docs.bundleBytes).toBeGreaterThan(1_000_000);
}

describe('sample on its embedded broker (no MQTT_URL)', () => {
  let sample: RunningSample;
  beforeAll(async () => {
    sample = await startSample({ mqttPort: 0, httpPort: 0, logger: false });
  });
  afterAll(() => sample?.close());

  it('runs the whole scenario: events, RPC, shared pool, docs', async () => {
    expect(sample.broker).toBeDefined();
    expectFullScenario(await runScenario(sample.mqttUrl, sample.httpUrl));
  });
});

describeMosquitto('sample on mosquitto (MQTT_URL)', () => {
  let mosquitto: MosquittoHandle;
  let sample: RunningSample;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
    sample = await startSample({ mqttUrl: mosquitto.url, httpPort: 0, logger: false });
  });
  afterAll(async () => {
    await sample?.close();
    await mosquitto?.stop();
  });

  it('runs the same scenario on a real MQTT 5 broker with native $share', async () => {
    expect(sample.broker).toBeUndefined();
    expectFullScenario(await runScenario(sample.mqttUrl, sample.httpUrl));
  });
});
