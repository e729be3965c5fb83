/**
 * THE locator for every external program the tests, benches and CI use (one place, plain JS so that benches and
 * `.ci/run` can use it without a TypeScript step; types in binaries.d.mts).
 *
 *   import { binary, hasMosquitto, MOSQUITTO_BIN } from '../support/binaries.mjs';
 *   const path = binary('mosquitto_rr');   // absolute path, or undefined when absent or hidden
 *   node test/support/binaries.mjs mosquitto   // prints the path (exit 1 when absent): for shell scripts
 *
 * Lookup order: each directory of PATH, then the usual sbin/bin directories (Debian puts the broker in /usr/sbin,
 * which a non-root PATH often lacks; Homebrew in /opt/homebrew/sbin).
 *
 * Environment switches:
 * - `HIDE_BROKERS=1`: behave as if no broker were installed (mosquitto, its client tools and plugins, RabbitMQ; other
 *   broker locators honour it too). `.ci/run` runs `npm test` once this way: the fresh-machine path.
 * - `HIDE_BINARIES=chromium,openssl`: hide these names (any name below).
 * - `REQUIRE_BROKERS=1` (set by `.ci/run`): a test that would skip for a missing program fails instead
 *   (see `requireOrSkip` in mosquitto.ts); read it through `binariesRequired`.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Programs of the mosquitto project: hidden together by HIDE_BROKERS=1. */
const BROKER_PROGRAMS = [
  'mosquitto',
  'mosquitto_pub',
  'mosquitto_sub',
  'mosquitto_rr',
  'mosquitto_passwd',
  'rabbitmq-server',
];

/** Names the locator knows, each with alternative program names tried in order. */
const ALIASES = {
  mosquitto: ['mosquitto'],
  mosquitto_pub: ['mosquitto_pub'],
  mosquitto_sub: ['mosquitto_sub'],
  mosquitto_rr: ['mosquitto_rr'],
  mosquitto_passwd: ['mosquitto_passwd'],
  openssl: ['openssl'],
  chromium: ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'],
  'rabbitmq-server': ['rabbitmq-server'],
  epmd: ['epmd'],
};

const EXTRA_DIRS = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
  '/opt/homebrew/sbin',
  '/opt/homebrew/bin',
  '/snap/bin',
];

const truthy = (value) => value !== undefined && value !== '' && value !== '0' && value !== 'false';

/** True when HIDE_BROKERS is set: every broker (and its tools) counts as absent. */
export const brokersHidden = truthy(process.env.HIDE_BROKERS);

/** True when REQUIRE_BROKERS is set: a test that needs a missing program must fail, not skip. */
export const binariesRequired = truthy(process.env.REQUIRE_BROKERS);

const hiddenNames = new Set(
  (process.env.HIDE_BINARIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Whether `name` is hidden by HIDE_BROKERS / HIDE_BINARIES. */
export function isHidden(name) {
  return hiddenNames.has(name) || (brokersHidden && BROKER_PROGRAMS.includes(name));
}

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const cache = new Map();

function search(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const program of ALIASES[name] ?? [name]) {
    for (const dir of dirs) {
      const file = join(dir, program);
      if (executable(file)) return file;
    }
  }
  return undefined;
}

/**
 * Absolute path of the program `name` (`mosquitto`, `mosquitto_pub`, `mosquitto_sub`, `mosquitto_rr`,
 * `mosquitto_passwd`, `openssl`, `chromium`, `rabbitmq-server`, `epmd`), or `undefined` when it is not installed or hidden.
 */
export function binary(name) {
  if (isHidden(name)) return undefined;
  if (!cache.has(name)) cache.set(name, search(name));
  return cache.get(name);
}

/** Like `binary(name)` but throws an error that says what to install. */
export function requireBinary(name) {
  const file = binary(name);
  if (file) return file;
  throw new Error(
    `${name} not found${isHidden(name) ? ' (hidden by HIDE_BROKERS/HIDE_BINARIES)' : ''}: ${installHint(name)}`,
  );
}

/** The apt-get line that installs `name` (for skip notices and errors). */
export function installHint(name) {
  if (name === 'mosquitto' || name === 'mosquitto_dynamic_security') return 'apt-get install mosquitto';
  if (name.startsWith('mosquitto_')) return 'apt-get install mosquitto-clients';
  if (name === 'epmd') return 'apt-get install erlang-base';
  return `apt-get install ${name}`;
}

/**
 * Path of a mosquitto plugin, e.g. `mosquittoPlugin('dynamic_security')`, or `undefined` (also under HIDE_BROKERS).
 */
export function mosquittoPlugin(plugin) {
  if (brokersHidden || !binary('mosquitto')) return undefined;
  const file = `mosquitto_${plugin}.so`;
  const dirs = [
    `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
    '/usr/lib',
    '/usr/local/lib',
    '/opt/homebrew/lib',
  ];
  return dirs.map((d) => join(d, file)).find((f) => existsSync(f));
}

/** The mosquitto broker, or `undefined`. */
export const MOSQUITTO_BIN = binary('mosquitto');

/** True when the mosquitto broker is installed (and not hidden). */
export const hasMosquitto = MOSQUITTO_BIN !== undefined;

/** True when mosquitto_pub, mosquitto_sub and mosquitto_rr are all installed (and not hidden). */
export const hasMosquittoClients = ['mosquitto_pub', 'mosquitto_sub', 'mosquitto_rr'].every((n) => binary(n));

// `node test/support/binaries.mjs NAME…`: prints each path, exits 1 when one is missing (for shell scripts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let missing = 0;
  for (const name of process.argv.slice(2)) {
    const file = binary(name);
    if (file) console.log(file);
    else missing++;
  }
  process.exit(missing ? 1 : 0);
}
