/**
 * A private RabbitMQ node with its MQTT plugin for tests: its own node name, free ports (MQTT, AMQP, Erlang
 * distribution, and its own epmd), config, data and logs in a temp dir; stopped by pid. A system RabbitMQ (the
 * Debian package starts one) is neither used nor touched. Boot takes 5–20 s: start one per suite file.
 *
 * RabbitMQ 3.x speaks MQTT 3.1.1 only (a v5 CONNECT is dropped) and takes QoS 2 as QoS 1 (SUBACK grants 1, a
 * QoS 2 PUBLISH is answered with PUBACK). See docs/conformance.md, "Broker notes".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { describe } from '@jest/globals';
import { connect } from '../../lib/driver/index.js';
import { binary } from './binaries.mjs';
import { describeIf } from './mosquitto.js';
import { freePort, sleep, waitForPort } from './ports.js';

/** Debian's /usr/sbin/rabbitmq-server re-runs this script through `su`, logging to /var/log: we start it directly. */
const DEBIAN_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';

function serverScript(): string | undefined {
  const found = binary('rabbitmq-server');
  if (!found) return undefined;
  const wrapper = readFileSync(found, 'utf8').includes('/usr/lib/rabbitmq/bin/');
  return wrapper && existsSync(DEBIAN_SCRIPT) ? DEBIAN_SCRIPT : found;
}

/** The RabbitMQ server script and Erlang's epmd, or undefined (not installed, or HIDE_BROKERS=1). */
export const RABBITMQ_BIN = serverScript();
const EPMD_BIN = RABBITMQ_BIN ? binary('epmd') : undefined;

/** True when RabbitMQ (and epmd) are installed and not hidden. */
export const hasRabbitmq = RABBITMQ_BIN !== undefined && EPMD_BIN !== undefined;

/** `describe` when RabbitMQ is installed, else skipped with a notice naming it (fails under REQUIRE_BROKERS=1). */
export const describeRabbitmq: typeof describe = describeIf(hasRabbitmq, 'rabbitmq-server');

export interface RabbitmqHandle {
  /** `mqtt://127.0.0.1:<port>` of the node's MQTT listener (3.1.1: connect with `protocolVersion: 4`). */
  readonly url: string;
  readonly port: number;
  /** Milliseconds from spawn until the node accepted an MQTT connection. */
  readonly bootMs: number;
  /** Stops the node (SIGTERM, then SIGKILL of its process group after 20 s) and its epmd; removes the temp dir. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // its own process group (spawned detached): the script, erl and helpers
  } catch {
    child.kill(signal);
  }
}

/** uid/gid of the `rabbitmq` user when we run as root: the node runs as that user, as the package expects. */
function rabbitmqUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('rabbitmq:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

function track(child: ChildProcess, what: string): { output: () => string; exited: Promise<never> } {
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  running.add(child);
  child.once('exit', () => running.delete(child));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${what} exited (code ${code}): ${output.trim()}`))),
  );
  exited.catch(() => undefined);
  return { output: () => output, exited };
}

function writeFiles(dir: string, mqttPort: number, amqpPort: number): void {
  const conf = [
    `listeners.tcp.default = ${amqpPort}`,
    `mqtt.listeners.tcp.default = ${mqttPort}`,
    'mqtt.allow_anonymous = true',
    'log.console = false',
    'log.file.level = warning',
  ];
  writeFileSync(join(dir, 'rabbitmq.conf'), `${conf.join('\n')}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
}

/** Connects at MQTT 3.1.1 until CONNACK: the listener opens before the node serves it. */
async function waitForMqtt(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const c = await connect(url, { protocolVersion: 4, reconnect: false, connectTimeout: 5000 });
      await c.disconnect();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/** Starts a private RabbitMQ node with the MQTT plugin on free loopback ports. */
export async function startRabbitmq(bootTimeoutMs = 90_000): Promise<RabbitmqHandle> {
  if (!RABBITMQ_BIN || !EPMD_BIN) throw new Error('rabbitmq-server is not installed (apt-get install rabbitmq-server)');
  installExitHook();
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'rmq-'));
  chmodSync(dir, 0o777);
  const user = rabbitmqUser();
  const [mqttPort, amqpPort, distPort, epmdPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  writeFiles(dir, mqttPort, amqpPort);
  if (user) for (const f of ['', 'rabbitmq.conf', 'enabled_plugins']) chownSync(join(dir, f), user.uid, user.gid);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: dir, // .erlang.cookie
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: `nestmqtt${mqttPort}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    // Our own epmd (below), on its own port: the system one, if any, is never used.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-start_epmd false',
  };
  const spawnOptions = { env, cwd: dir, detached: true, ...(user ?? {}) };
  const epmd = spawn(EPMD_BIN, ['-port', String(epmdPort)], { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  const epmdWatch = track(epmd, 'epmd');
  const node = spawn(RABBITMQ_BIN, [], { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  const nodeWatch = track(node, 'rabbitmq-server');
  const stop = async (): Promise<void> => {
    await stopChild(node, 'SIGTERM', 20_000);
    await stopChild(epmd, 'SIGTERM', 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + bootTimeoutMs;
    await Promise.race([waitForPort(epmdPort, 10_000), epmdWatch.exited]);
    await Promise.race([waitForPort(mqttPort, bootTimeoutMs), nodeWatch.exited]);
    await Promise.race([waitForMqtt(`mqtt://127.0.0.1:${mqttPort}`, deadline), nodeWatch.exited]);
  } catch (err) {
    await stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${mqttPort}`,
    port: mqttPort,
    bootMs: Date.now() - started,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

/** Signals the child's process group, escalating to SIGKILL after `graceMs`; resolves when it exited. */
function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    // The script traps TERM and stops erl gracefully (its own process, so signal it alone first).
    child.kill(signal);
  });
}
