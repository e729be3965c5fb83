import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from '@jest/globals';
import { run, WatchedProcess } from './child.js';

// `npm start` as a user runs it: the sample compiled by tsc and started with node as a child process.

export const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

/** What `npm start` compiles and runs, read from package.json so the tests follow (or fail with) it. */
function startScript(): { tsconfig: string; entry: string } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const m = /^tsc -p (\S+) && node dist-sample\/(\S+)$/.exec(pkg.scripts.start ?? '');
  if (!m) throw new Error(`package.json "start" is not "tsc -p … && node dist-sample/…": update this test`);
  return { tsconfig: join(ROOT, m[1] as string), entry: m[2] as string };
}

const buildDir = (name: string) => join(ROOT, 'test/sample/.tmp', name);

/** Compiles the sample as `npm start` does, into `test/sample/.tmp/<name>`; resolves with the file to run. */
export async function buildSample(name: string): Promise<string> {
  const { tsconfig, entry } = startScript();
  const dir = buildDir(name);
  removeBuild(name);
  const tsc = await run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig, '--outDir', dir],
    60_000,
  );
  if (tsc.code !== 0) throw new Error(`tsc -p ${tsconfig} failed:\n${tsc.stdout}${tsc.stderr}`);
  return join(dir, entry);
}

/** Removes what {@link buildSample} wrote. */
export function removeBuild(name: string): void {
  rmSync(buildDir(name), { recursive: true, force: true });
}

/** Variables of the test's own environment that would change what the sample does. */
const SAMPLE_VARIABLES = /^(MQTT_URL|MQTT_PORT|MQTT_PROTOCOL_VERSION|PORT|NODE_OPTIONS|OTEL_.*)$/;

/** The sample in a child process with a clean environment: no MQTT_URL, no OTEL_* unless `env` sets them. */
export function startSampleProcess(
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): WatchedProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !SAMPLE_VARIABLES.test(key)));
  return new WatchedProcess(process.execPath, [...nodeArgs, entry], { ...base, ...env });
}

/**
 * The log lines every start prints: the broker URL, the HTTP URL, and the handler of the after-startup message.
 * `timeoutMs` is a hang guard for the whole start, not a timing check: a Node process loading Nest, aedes and the
 * sample took more than 10 s to print its first line on the shared 2-core machine under load.
 */
export async function started(
  sample: WatchedProcess,
  broker: RegExp,
  timeoutMs = 30_000,
): Promise<{ mqttUrl: string; httpUrl: string }> {
  const [, mqttUrl] = await sample.waitFor(broker, { timeoutMs });
  const [, httpUrl] = await sample.waitFor(/HTTP on (http:\/\/127\.0\.0\.1:\d+): AsyncAPI page/, { timeoutMs });
  await sample.waitFor(/\[Devices\] temperature demo-1: 21\.5 °C/, { timeoutMs });
  return { mqttUrl: mqttUrl as string, httpUrl: httpUrl as string };
}

/** A clean stop: exit code 0, or killed by the very signal sent (Nest's shutdown hooks re-raise it), quickly. */
export async function expectCleanStop(sample: WatchedProcess, signal: NodeJS.Signals): Promise<void> {
  const exit = await sample.stop(signal);
  const ended = exit.signal ?? exit.code;
  expect(ended === 0 || ended === signal ? 'clean' : `ended with ${ended}:\n${sample.output}`).toBe('clean');
  expect(exit.ms).toBeLessThan(4000);
}
