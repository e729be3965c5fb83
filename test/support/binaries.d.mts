/** Types of binaries.mjs (the one locator for external programs; see there). */

/** Programs the locator knows (other names are looked up as given). */
export type BinaryName =
  | 'mosquitto'
  | 'mosquitto_pub'
  | 'mosquitto_sub'
  | 'mosquitto_rr'
  | 'mosquitto_passwd'
  | 'openssl'
  | 'chromium'
  | 'rabbitmq-server'
  | 'epmd';

/** True when HIDE_BROKERS is set: every broker (and its tools) counts as absent. */
export const brokersHidden: boolean;
/** True when REQUIRE_BROKERS is set: a test that needs a missing program must fail, not skip. */
export const binariesRequired: boolean;
/** Whether `name` is hidden by HIDE_BROKERS / HIDE_BINARIES. */
export function isHidden(name: BinaryName): boolean;
/** Absolute path of the program, or `undefined` when it is not installed or hidden. PATH first, then sbin dirs. */
export function binary(name: BinaryName): string | undefined;
/** Like `binary(name)` but throws an error that says what to install. */
export function requireBinary(name: BinaryName): string;
/** The apt-get line that installs `name`. */
export function installHint(name: string): string;
/** Path of a mosquitto plugin (e.g. 'dynamic_security'), or `undefined` (also under HIDE_BROKERS). */
export function mosquittoPlugin(plugin: string): string | undefined;
/** The mosquitto broker, or `undefined`. */
export const MOSQUITTO_BIN: string | undefined;
/** True when the mosquitto broker is installed (and not hidden). */
export const hasMosquitto: boolean;
/** True when mosquitto_pub, mosquitto_sub and mosquitto_rr are all installed (and not hidden). */
export const hasMosquittoClients: boolean;
