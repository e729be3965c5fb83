import { firstValueFrom } from 'rxjs';
import { connect, type MqttDriverClient, type MqttMessage } from '../lib/driver/index.js';
import { ClientMqttAsync } from '../lib/nest/index.js';
import type { JobResultDto } from './dto.js';
import type { Reading } from './readings.service.js';

/** What the end-to-end scenario saw; every field is checked by {@link runScenario}. */
export interface ScenarioReport {
  temperature: Reading;
  invalidTemperatureIgnored: boolean;
  commandReply: unknown;
  invalidCommandError: string;
  jobs: { published: number; byService: number; byOtherMember: number; duplicates: number };
  docs: { channels: string[]; operations: number; htmlBytes: number; bundleBytes: number };
}

const JOBS = 20;

class ScenarioError extends Error {}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new ScenarioError(`sample scenario: ${what}`);
}

/** Polls `probe` every 20 ms until it returns a value, for at most `ms` (the demo is not a timed test). */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    check(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  check(res.ok, `GET ${url} answered ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Runs the sample's whole story against a running sample: a temperature event (and a rejected one), a device
 * command over MQTT 5 request/response (and a rejected one), 20 jobs split between the service and a second
 * member of the shared group, results on `devices/events`, and the AsyncAPI JSON, page and bundle.
 */
export async function runScenario(mqttUrl: string, httpUrl: string): Promise<ScenarioReport> {
  const peer = await connect(mqttUrl, { protocolVersion: 5 });
  const rpc = new ClientMqttAsync({ url: mqttUrl, protocolVersion: 5, requestTimeout: 10_000 });
  try {
    const temperature = await temperatures(peer, httpUrl);
    const commands = await deviceCommands(rpc);
    const jobs = await jobPool(peer, mqttUrl);
    const docs = await documentation(httpUrl);
    return { ...temperature, ...commands, jobs, docs };
  } finally {
    await rpc.close();
    await peer.disconnect();
  }
}

async function temperatures(peer: MqttDriverClient, httpUrl: string) {
  await peer.publish('temperature-sensors/t2/temperature', 'not a number', { qos: 1 });
  await peer.publish('temperature-sensors/t1/temperature', '22.5', { qos: 1 });
  const temperature = await eventually('the t1 reading on GET /temperatures', async () =>
    (await getJson<Reading[]>(`${httpUrl}/temperatures`)).find((r) => r.deviceId === 't1'),
  );
  check(temperature.celsius === 22.5, `t1 should read 22.5, got ${temperature.celsius}`);
  // Same subscription, in order: t2 was handled (and rejected by ParseFloatPipe) before t1.
  const all = await getJson<Reading[]>(`${httpUrl}/temperatures`);
  const invalidTemperatureIgnored = !all.some((r) => r.deviceId === 't2');
  check(invalidTemperatureIgnored, 'a non-numeric temperature must be rejected');
  return { temperature, invalidTemperatureIgnored };
}

async function deviceCommands(rpc: ClientMqttAsync) {
  const commandReply = await firstValueFrom(rpc.send('devices/t1/cmd', { op: 'reboot' }));
  check(
    JSON.stringify(commandReply) === JSON.stringify({ id: 't1', op: 'reboot', accepted: true }),
    `unexpected command reply ${JSON.stringify(commandReply)}`,
  );
  let invalidCommandError = '';
  try {
    await firstValueFrom(rpc.send('devices/t1/cmd', { op: 'explode' }));
  } catch (err) {
    invalidCommandError = JSON.stringify(err);
  }
  check(invalidCommandError.includes('op must be one of'), `invalid command: got '${invalidCommandError}'`);
  return { commandReply, invalidCommandError };
}

/** Publishes jobs while a second client is a member of `pool-a`: each job must be handled exactly once. */
async function jobPool(peer: MqttDriverClient, mqttUrl: string): Promise<ScenarioReport['jobs']> {
  const results = new Map<string, number>();
  const events = await peer.subscribe('devices/events', { qos: 1 });
  const member = await connect(mqttUrl, { protocolVersion: 5 });
  const taken: string[] = [];
  try {
    const pool = await member.subscribe('$share/pool-a/workers/jobs/#', { qos: 1, ack: 'manual' });
    check(pool.granted[0] === 1, `the broker refused the shared subscription (0x${pool.granted[0]?.toString(16)})`);
    void consume(pool, async (m) => {
      taken.push((JSON.parse(m.payload.toString()) as { jobId: string }).jobId);
      await m.ack();
    });
    void consume(events, (m: MqttMessage) => {
      const result = JSON.parse(m.payload.toString()) as JobResultDto;
      results.set(result.jobId, (results.get(result.jobId) ?? 0) + 1);
    });
    for (let i = 0; i < JOBS; i++) {
      await peer.publish(`workers/jobs/sum`, JSON.stringify({ jobId: `job-${i}`, numbers: [i, i, 1] }), { qos: 1 });
    }
    await eventually('every job to be handled', () => (results.size + taken.length >= JOBS ? true : undefined));
    await pool.unsubscribe();
  } finally {
    await events.unsubscribe();
    await member.disconnect();
  }
  const handled = [...results.keys(), ...taken];
  const duplicates = handled.length - new Set(handled).size + [...results.values()].filter((n) => n > 1).length;
  check(duplicates === 0 && handled.length === JOBS, `jobs handled ${handled.length}/${JOBS}, ${duplicates} twice`);
  check(results.size > 0 && taken.length > 0, `both pool members should get jobs (${results.size}/${taken.length})`);
  return { published: JOBS, byService: results.size, byOtherMember: taken.length, duplicates };
}

async function consume(messages: AsyncIterable<MqttMessage>, each: (m: MqttMessage) => unknown): Promise<void> {
  for await (const message of messages) await each(message);
}

async function documentation(httpUrl: string): Promise<ScenarioReport['docs']> {
  const doc = await getJson<{
    asyncapi: string;
    channels: Record<string, { address: string | null }>;
    operations: object;
  }>(`${httpUrl}/docs.json`);
  check(doc.asyncapi === '3.0.0', `docs.json is AsyncAPI ${doc.asyncapi}`);
  const channels = Object.values(doc.channels)
    .map((c) => c.address)
    .filter((a): a is string => a !== null);
  for (const address of [
    'temperature-sensors/{deviceId}/temperature',
    'devices/{id}/cmd',
    'workers/jobs/#',
    'devices/events',
  ]) {
    check(channels.includes(address), `docs.json lacks the channel ${address}`);
  }
  const html = await (await fetch(`${httpUrl}/docs`)).text();
  check(html.includes('AsyncApiStandalone.render'), 'GET /docs is not the AsyncAPI page');
  const bundle = await fetch(`${httpUrl}/docs/assets/asyncapi-standalone.js`);
  check(bundle.ok, `the page's script answered ${bundle.status}`);
  const bundleBytes = (await bundle.arrayBuffer()).byteLength;
  return { channels, operations: Object.keys(doc.operations).length, htmlBytes: html.length, bundleBytes };
}
