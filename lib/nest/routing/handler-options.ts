import type { MqttAsyncHandlerOptions } from '../options.js';
import { MqttAsyncPatternError } from './pattern.js';

/**
 * Every key of {@link MqttAsyncHandlerOptions}. Typed as a record of all of them, so adding an option to the
 * interface without listing it here does not compile.
 */
const HANDLER_OPTION_KEYS: Record<keyof MqttAsyncHandlerOptions, true> = {
  qos: true,
  shared: true,
  concurrency: true,
  ack: true,
  noLocal: true,
  retainHandling: true,
  ackTimeout: true,
  onAckTimeout: true,
  retry: true,
};

const KNOWN = Object.keys(HANDLER_OPTION_KEYS).sort();

/**
 * Handler options for `@MessagePattern` / `@EventPattern`, type-checked: `@MessagePattern('t', mqttOptions({ ack:
 * 'manual' }))`. Nest types a pattern's extras as `Record<string, any>`, so a misspelt key (`acks`) would otherwise
 * compile; here it does not, and at startup an unknown key fails naming the handler either way.
 */
// biome-ignore lint/suspicious/noExplicitAny: Nest's type of a pattern's extras
export function mqttOptions(options: MqttAsyncHandlerOptions): Record<string, any> {
  return { ...options };
}

/** Throws naming `where` when `extras` has a key that is not a handler option (a typo would be ignored silently). */
export function checkHandlerOptionKeys(extras: object, where: string): void {
  for (const key of Object.keys(extras)) {
    if (Object.hasOwn(HANDLER_OPTION_KEYS, key)) continue;
    const near = KNOWN.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
    throw new MqttAsyncPatternError(
      `Invalid handler options on ${where}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; ` +
        `the options are ${KNOWN.join(', ')}. Wrap them in mqttOptions({ ... }) to have them type-checked.`,
    );
  }
}

/** Levenshtein distance of two short strings (option names). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
