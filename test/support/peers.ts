import { execFile } from 'node:child_process';
import mqtt, { type IClientOptions, type MqttClient as MqttJsClient } from 'mqtt';
import { type BinaryName, requireBinary } from './binaries.mjs';

export interface ToolResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the tool was killed by the timeout. */
  code: number | null;
}

function portOf(url: string): string {
  return new URL(url).port;
}

/** Runs a mosquitto command line tool with a timeout (ms); never rejects, the exit code tells. */
export function runTool(tool: BinaryName, args: string[], timeoutMs = 10_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      requireBinary(tool),
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
  });
}

/** `mosquitto_pub` against the broker at `url` (`-V mqttv5` unless `extra` says otherwise). */
export function mosquittoPub(url: string, topic: string, message: string, extra: string[] = []): Promise<ToolResult> {
  return runTool('mosquitto_pub', ['-h', '127.0.0.1', '-p', portOf(url), '-t', topic, '-m', message, ...extra]);
}

/** `mosquitto_sub` that exits after `count` messages or `timeoutSec` seconds (`-W`). Lines of stdout are messages. */
export function mosquittoSub(
  url: string,
  topic: string,
  count: number,
  extra: string[] = [],
  timeoutSec = 10,
): Promise<ToolResult> {
  const args = ['-h', '127.0.0.1', '-p', portOf(url), '-t', topic, '-C', String(count), '-W', String(timeoutSec)];
  return runTool('mosquitto_sub', [...args, ...extra], (timeoutSec + 5) * 1000);
}

/** `mosquitto_rr` (MQTT 5 request/response): publishes to `topic`, waits for one reply on `responseTopic`. */
export function mosquittoRr(
  url: string,
  topic: string,
  responseTopic: string,
  message: string,
  extra: string[] = [],
  timeoutSec = 10,
): Promise<ToolResult> {
  const args = ['-h', '127.0.0.1', '-p', portOf(url), '-t', topic, '-e', responseTopic, '-m', message];
  return runTool('mosquitto_rr', [...args, '-W', String(timeoutSec), ...extra], (timeoutSec + 5) * 1000);
}

/** An MQTT.js client (the interop peer), connected; MQTT 5 unless `protocolVersion: 4` is given. */
export async function mqttJsClient(url: string, options: IClientOptions = {}): Promise<MqttJsClient> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
  return client;
}

/** Closes an MQTT.js client, forcibly, and waits for it. */
export function endMqttJs(client: MqttJsClient, force = true): Promise<void> {
  return new Promise((resolve) => client.end(force, {}, () => resolve()));
}

export type { MqttJsClient };
