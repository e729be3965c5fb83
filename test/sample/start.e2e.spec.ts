import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '../../lib/driver/index.js';
import { codeBlocks } from '../docs/blocks.js';
import { type ShellCommand, shellCommands } from '../docs/shell-commands.js';
import { startAedes } from '../support/aedes.js';
import { type BinaryName, binariesRequired, hasMosquittoClients, requireBinary } from '../support/binaries.mjs';
import { take } from '../support/messages.js';
import { run, until, WatchedProcess } from './child.js';
import { buildSample, expectCleanStop, ROOT, removeBuild, started, startSampleProcess } from './sample-process.js';

// `npm start` as a user runs it: the sample compiled by tsc, started with node as a child process, talked to
// from outside (mosquitto clients, curl, HTTP), stopped with a signal.

interface Docs {
  asyncapi: string;
  servers: Record<string, { host: string; protocolVersion: string }>;
  channels: Record<string, { address: string | null }>;
}

async function docsJson(httpUrl: string): Promise<Docs> {
  const res = await fetch(`${httpUrl}/docs.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as Docs;
}

/** Whether something accepts TCP connections on a loopback port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = net.connect(port, '127.0.0.1');
    const answer = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.once('connect', () => answer(true));
    socket.once('error', () => answer(false));
  });
}

let entry = '';
beforeAll(async () => {
  entry = await buildSample('start-build');
}, 60_000);

afterAll(() => removeBuild('start-build'));

describe('npm start (sample/start.ts in a child process)', () => {
  it('with no MQTT_URL embeds a broker, prints its URL, handles its test message, answers the README commands and /docs.json, and stops on SIGINT', async () => {
    const sample = startSampleProcess(entry, { PORT: '0' });
    try {
      const { mqttUrl, httpUrl } = await started(sample, /Embedded MQTT broker \(aedes, MQTT 5\) on (mqtt:\/\/\S+)/);
      const mqttPort = Number(new URL(mqttUrl).port);
      expect(new URL(mqttUrl).hostname).toBe('127.0.0.1');
      // "port 1883, or a free one if taken": another port only when something else holds 1883.
      if (mqttPort !== 1883) expect(await accepts(1883)).toBe(true);

      const docs = await docsJson(httpUrl);
      expect(docs.asyncapi).toBe('3.0.0');
      expect(Object.values(docs.servers)).toEqual([
        expect.objectContaining({ host: `127.0.0.1:${mqttPort}`, protocolVersion: '5' }),
      ]);
      expect(Object.values(docs.channels).map((c) => c.address)).toContain(
        'temperature-sensors/{deviceId}/temperature',
      );

      if (hasMosquittoClients) await runReadmeCommands(sample, { mqtt: mqttPort, http: Number(new URL(httpUrl).port) });
      else await talkWithDriver(sample, mqttUrl);
    } finally {
      await expectCleanStop(sample, 'SIGINT');
    }
  }, 60_000);

  it('with MQTT_URL uses that broker and embeds none, and stops on SIGTERM', async () => {
    // aedes 1.x: MQTT 3.1.1 with `$share` filters accepted (aedes 2 beta would refuse the job pool's group).
    const aedes = await startAedes({ version: 4 });
    const watcher = await connect(aedes.url, { protocolVersion: 4, reconnect: false });
    try {
      const readings = await watcher.subscribe('temperature-sensors/+/temperature', { qos: 1 });
      const sample = startSampleProcess(entry, { PORT: '0', MQTT_URL: aedes.url, MQTT_PROTOCOL_VERSION: '4' });
      try {
        const { mqttUrl, httpUrl } = await started(sample, /\[Sample\] MQTT broker: (mqtt:\/\/\S+)/);
        expect(mqttUrl).toBe(aedes.url);
        expect(sample.output).not.toContain('Embedded MQTT broker');
        const [m] = await take(readings, 1);
        expect([m?.topic, m?.payload.toString()]).toEqual(['temperature-sensors/demo-1/temperature', '21.5']);
        // The hints are printed before the test message: MQTT 3.1.1 has no Response Topic for mosquitto_rr.
        expect(sample.output).toContain('Try: mosquitto_pub');
        expect(sample.output).not.toContain('mosquitto_rr');
        const docs = await docsJson(httpUrl);
        expect(Object.values(docs.servers)).toEqual([
          expect.objectContaining({ host: `127.0.0.1:${aedes.port}`, protocolVersion: '3.1.1' }),
        ]);
      } finally {
        await expectCleanStop(sample, 'SIGTERM');
      }
    } finally {
      await watcher.disconnect();
      await aedes.stop();
    }
  }, 60_000);
});

/** Without mosquitto clients: the same outside view through our driver, so the test still talks to the sample. */
async function talkWithDriver(sample: WatchedProcess, mqttUrl: string): Promise<void> {
  if (binariesRequired) throw new Error('REQUIRE_BROKERS=1: the README commands need mosquitto-clients');
  console.warn(
    `SKIPPED: the README's mosquitto_* commands need mosquitto_pub, mosquitto_sub and mosquitto_rr (apt-get install mosquitto-clients); checked with the driver instead`,
  );
  const client = await connect(mqttUrl, { reconnect: false });
  try {
    await client.publish('temperature-sensors/t1/temperature', '22.5', { qos: 1 });
    await sample.waitFor(/temperature t1: 22\.5 °C/);
    const reply = await client.request('devices/t1/cmd', '{"op":"reboot"}', { timeout: 5000 });
    expect(JSON.parse(reply.payload.toString())).toEqual({ id: 't1', op: 'reboot', accepted: true });
  } finally {
    await client.disconnect();
  }
}

// ---- The README's commands against the running sample ----

interface Ports {
  mqtt: number;
  http: number;
}

/** Shared between the steps of one run of the README block. */
interface ReadmeRun {
  sample: WatchedProcess;
  /** The reading the README's first mosquitto_pub sent, which curl must then show. */
  reading?: { deviceId: string; celsius: number };
  /** The README's `mosquitto_sub` joining the job pool, running in the background. */
  poolMember?: WatchedProcess;
}

/** The shell block that talks to the running sample (the one with `mosquitto_rr`). */
function readmeSampleCommands(): ShellCommand[] {
  const blocks = codeBlocks(join(ROOT, 'README.md')).filter(
    (b) => ['bash', 'sh', 'shell'].includes(b.lang) && b.code.includes('mosquitto_rr'),
  );
  expect(blocks).toHaveLength(1);
  return shellCommands(blocks[0]!);
}

/**
 * The README targets the sample's defaults (MQTT 1883, HTTP 3000); the test points them at the ports the sample
 * printed. A command that no longer names those defaults fails here rather than talking to something else.
 */
function localize(c: ShellCommand, ports: Ports): string[] {
  const argv = [...c.argv];
  if (argv[0]?.startsWith('mosquitto_')) {
    argv[0] = requireBinary(argv[0] as BinaryName);
    const i = argv.indexOf('-p');
    if (argv[i + 1] !== '1883') throw new Error(`README line ${c.line}: expected "-p 1883" in ${c.source}`);
    argv[i + 1] = String(ports.mqtt);
    return argv;
  }
  const at = argv.findIndex((a) => a.startsWith('localhost:3000/'));
  if (at < 0) throw new Error(`README line ${c.line}: expected a localhost:3000 URL in ${c.source}`);
  argv[at] = (argv[at] as string).replace('localhost:3000', `localhost:${ports.http}`);
  return argv;
}

function option(argv: string[], flag: string): string {
  const i = argv.indexOf(flag);
  if (i < 0 || argv[i + 1] === undefined) throw new Error(`no ${flag} in ${argv.join(' ')}`);
  return argv[i + 1] as string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type Step = (c: ShellCommand, argv: string[], state: ReadmeRun) => Promise<void>;

/** The check for each README command; a command with none fails the test, so new lines must get one. */
function stepFor(c: ShellCommand): Step {
  const [cmd] = c.argv;
  if (cmd === 'mosquitto_pub' && c.comment.startsWith('the service logs: ')) return publishAndSeeLog;
  if (cmd === 'mosquitto_rr') return requestAndCompareReply;
  if (cmd === 'curl') return curlShowsReading;
  if (cmd === 'mosquitto_sub' && c.argv.some((a) => a.startsWith('$share/'))) return joinPool;
  if (cmd === 'mosquitto_pub' && c.comment.includes('they alternate')) return jobsAlternate;
  throw new Error(`README line ${c.line}: no check for "${c.source}" (# ${c.comment}); add one to this test`);
}

async function runReadmeCommands(sample: WatchedProcess, ports: Ports): Promise<void> {
  const commands = readmeSampleCommands();
  expect(commands.length).toBeGreaterThanOrEqual(5);
  const state: ReadmeRun = { sample };
  try {
    for (const c of commands) await stepFor(c)(c, localize(c, ports), state);
  } finally {
    await state.poolMember?.stop('SIGTERM');
  }
}

/** `mosquitto_pub … # the service logs: <line>`: the sample prints that line. */
const publishAndSeeLog: Step = async (c, argv, state) => {
  const before = state.sample.output.length;
  expect({ line: c.line, ...(await run(argv[0] as string, argv.slice(1))) }).toMatchObject({ line: c.line, code: 0 });
  const logged = c.comment.replace(/^the service logs: /, '');
  await state.sample.waitFor(new RegExp(escapeRegExp(logged)), { since: before });
  state.reading = { deviceId: option(argv, '-t').split('/')[1] as string, celsius: Number(option(argv, '-m')) };
};

/** `mosquitto_rr … # <reply>`: mosquitto_rr prints exactly that reply. */
const requestAndCompareReply: Step = async (c, argv) => {
  const result = await run(argv[0] as string, argv.slice(1), 5000);
  expect({ line: c.line, code: result.code, reply: result.stdout.trim() }).toEqual({
    line: c.line,
    code: 0,
    reply: c.comment,
  });
};

/** `curl …/temperatures # the HTTP side`: the HTTP endpoint lists the reading just sent over MQTT. */
const curlShowsReading: Step = async (c, argv, state) => {
  const result = await run(argv[0] as string, argv.slice(1), 5000);
  expect({ line: c.line, code: result.code }).toEqual({ line: c.line, code: 0 });
  if (!state.reading) throw new Error(`README line ${c.line}: curl comes before any reading was published`);
  expect(JSON.parse(result.stdout)).toEqual(expect.arrayContaining([expect.objectContaining(state.reading)]));
};

/** `mosquitto_sub … $share/…`: runs in the background as a second member of the sample's job pool. */
const joinPool: Step = async (_c, argv, state) => {
  state.poolMember = new WatchedProcess(argv[0] as string, argv.slice(1), process.env);
};

/**
 * `mosquitto_pub … workers/jobs/… # they alternate`: with the README's mosquitto_sub in the group, jobs go to
 * it and to the sample in turn. Until its SUBSCRIBE is through, the sample takes every job, so the count starts
 * at the member's first job.
 */
const jobsAlternate: Step = async (c, argv, state) => {
  const member = state.poolMember;
  if (!member) throw new Error(`README line ${c.line}: publishes jobs before a mosquitto_sub joined the pool`);
  const topic = option(argv, '-t');
  const payload = option(argv, '-m');
  const memberLine = `${topic} ${payload}`; // mosquitto_sub -v prints "<topic> <payload>"
  const serviceLine = `job ${(JSON.parse(payload) as { jobId: string }).jobId} (${topic})`;
  const seen = () => member.count(memberLine) + state.sample.count(serviceLine);
  let sent = 0;
  const publishOne = async (): Promise<'member' | 'service'> => {
    const memberBefore = member.count(memberLine);
    expect((await run(argv[0] as string, argv.slice(1))).code).toBe(0);
    sent++;
    await until(() => seen() >= sent, `README line ${c.line}: job ${sent} handled by nobody`);
    return member.count(memberLine) > memberBefore ? 'member' : 'service';
  };
  for (let tries = 0; member.count(memberLine) === 0; tries++) {
    if (tries === 20) throw new Error(`the README's mosquitto_sub got no job of 20; its output:\n${member.output}`);
    await publishOne();
  }
  const turns = [await publishOne(), await publishOne(), await publishOne(), await publishOne()];
  expect(turns).toEqual(['service', 'member', 'service', 'member']);
  expect(seen()).toBe(sent); // nobody got a job twice
};
