/**
 * `npm start` with and without `OTEL_EXPORTER_OTLP_ENDPOINT`: with it, the sample's spans (and, when asked for,
 * metrics) reach an OTLP/HTTP receiver through the OpenTelemetry Node SDK, as one trace with the caller's
 * context; without it, the SDK is never loaded. The receiver is a loopback HTTP server in the test.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '../../lib/driver/index.js';
import { until, type WatchedProcess } from './child.js';
import { attribute, OtlpCollector, SPAN_KIND } from './otlp-collector.js';
import { buildSample, expectCleanStop, ROOT, removeBuild, started, startSampleProcess } from './sample-process.js';

const BUILD = 'otel-build';
const EMBEDDED = /Embedded MQTT broker \(aedes, MQTT 5\) on (mqtt:\/\/\S+)/;
/** Prints, on SIGUSR2, whether the SDK was loaded into the sample's process. */
const SDK_PROBE = ['--require', join(ROOT, 'test/sample/sdk-loaded.cjs')];

let entry = '';
beforeAll(async () => {
  entry = await buildSample(BUILD);
}, 60_000);
afterAll(() => removeBuild(BUILD));

/** Whether the sample's process has loaded `@opentelemetry/sdk-node`, asked through the preloaded probe. */
async function sdkLoaded(sample: WatchedProcess): Promise<boolean> {
  const since = sample.output.length;
  sample.child.kill('SIGUSR2');
  const [, loaded] = await sample.waitFor(/opentelemetry sdk-node loaded: (true|false)/, { since });
  return loaded === 'true';
}

describe('npm start and OpenTelemetry', () => {
  const collector = new OtlpCollector();
  let endpoint = '';
  let sample: WatchedProcess | undefined;
  beforeAll(async () => {
    endpoint = await collector.start();
  });
  afterEach(async () => {
    if (sample) await expectCleanStop(sample, 'SIGTERM');
    sample = undefined;
  });
  afterAll(() => collector.stop());

  it('with OTEL_EXPORTER_OTLP_ENDPOINT: an RPC is one trace from the caller through the handler to its reply, sent to <endpoint>/v1/traces; metrics when OTEL_METRICS_EXPORTER asks', async () => {
    sample = startSampleProcess(
      entry,
      {
        PORT: '0',
        MQTT_PORT: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', // the metrics exporter the SDK picks; traces are JSON anyway
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_METRIC_EXPORT_INTERVAL: '200',
      },
      SDK_PROBE,
    );
    // Loading the SDK (and its exporters' dependencies) takes seconds on a busy machine.
    const { mqttUrl } = await started(sample, EMBEDDED, 30_000);
    expect(sample.output).toContain(`OpenTelemetry: traces to ${endpoint} (OTLP/HTTP)`);

    // The caller's own trace context, as an instrumented MQTT 5 client would send it.
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const client = await connect(mqttUrl, { reconnect: false });
    try {
      const reply = await client.request('devices/t1/cmd', '{"op":"reboot"}', {
        timeout: 5_000,
        properties: { userProperties: [['traceparent', `00-${traceId}-${callerSpanId}-01`]] },
      });
      expect(JSON.parse(reply.payload.toString())).toEqual({ id: 't1', op: 'reboot', accepted: true });
      // A job of the shared pool: its handler publishes the result through the sample's ClientMqttAsync.
      await client.publish('workers/jobs/sum', '{"jobId":"j1","numbers":[1,2]}', { qos: 1 });
    } finally {
      await client.disconnect();
    }

    const inTrace = () => collector.spans().filter((s) => s.traceId === traceId);
    await until(() => inTrace().length >= 2, `2 spans of trace ${traceId} at the receiver`, 10_000);
    const process = inTrace().find((s) => s.name === 'process devices/{id}/cmd');
    const reply = inTrace().find((s) => s.name === 'reply devices/{id}/cmd');
    expect(process).toMatchObject({
      kind: SPAN_KIND.CONSUMER,
      parentSpanId: callerSpanId,
      service: 'nest-mqtt-async-sample',
    });
    expect(reply).toMatchObject({ kind: SPAN_KIND.PRODUCER, parentSpanId: process?.spanId });
    if (!process) throw new Error('no process span');
    expect({
      system: attribute(process, 'messaging.system'),
      topic: attribute(process, 'messaging.destination.name'),
      template: attribute(process, 'messaging.destination.template'),
    }).toEqual({ system: 'mqtt', topic: 'devices/t1/cmd', template: 'devices/{id}/cmd' });
    expect(collector.notJson).toEqual([]);

    const named = (name: string) => collector.spans().find((s) => s.name === name);
    await until(() => named('publish devices/events') !== undefined, 'the span of the job result publish', 10_000);
    const job = named('process workers/jobs/#');
    expect(job && attribute(job, 'messaging.consumer.group.name')).toBe('pool-a');
    expect(named('publish devices/events')).toMatchObject({
      kind: SPAN_KIND.PRODUCER,
      traceId: job?.traceId,
      parentSpanId: job?.spanId,
    });

    await until(
      () => collector.metricNames().has('messaging.client.consumed.messages'),
      'messaging.client.consumed.messages at <endpoint>/v1/metrics',
      10_000,
    );
    expect(await sdkLoaded(sample)).toBe(true);
  }, 60_000);

  it('on SIGTERM the spans still batched are sent before the process exits', async () => {
    // A batch delay far beyond the test: the spans can only arrive through the shutdown's flush.
    const env = { PORT: '0', MQTT_PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '600000' };
    const running = startSampleProcess(entry, env);
    sample = running;
    const { mqttUrl } = await started(running, EMBEDDED, 30_000);
    const traceId = randomBytes(16).toString('hex');
    const client = await connect(mqttUrl, { reconnect: false });
    try {
      await client.request('devices/t2/cmd', '{"op":"reboot"}', {
        timeout: 5_000,
        properties: { userProperties: [['traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`]] },
      });
    } finally {
      await client.disconnect();
    }
    expect(collector.spans().filter((s) => s.traceId === traceId)).toEqual([]);
    sample = undefined;
    await expectCleanStop(running, 'SIGTERM');
    expect(
      collector
        .spans()
        .filter((s) => s.traceId === traceId)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['process devices/{id}/cmd', 'reply devices/{id}/cmd']);
  }, 60_000);

  it('without it: the SDK is not loaded and nothing is sent; /health answers 200 on the embedded broker', async () => {
    const before = collector.paths.length;
    sample = startSampleProcess(entry, { PORT: '0', MQTT_PORT: '0' }, SDK_PROBE);
    const { httpUrl } = await started(sample, EMBEDDED);
    expect(sample.output).not.toContain('OpenTelemetry:');
    const health = await fetch(`${httpUrl}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { info: { mqtt: { rttMs: unknown } } }).info.mqtt.rttMs).toEqual(
      expect.any(Number),
    );
    expect(await sdkLoaded(sample)).toBe(false);
    expect(collector.paths.slice(before)).toEqual([]);
  }, 60_000);
});
