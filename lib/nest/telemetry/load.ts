import type * as Api from '@opentelemetry/api';
import { Telemetry } from './telemetry.js';

let api: Promise<typeof Api | undefined> | undefined;

/**
 * The transport's telemetry, or undefined when `telemetry: false` or `@opentelemetry/api` (an optional peer) is not
 * installed. The API is imported once, asynchronously, when a transport connects: nothing of it is loaded by
 * importing this package, and a transport without telemetry only tests one field per message.
 */
export async function loadTelemetry(
  enabled: boolean | undefined,
  role: 'server' | 'client',
  deadLetterTopic?: string,
): Promise<Telemetry | undefined> {
  if (enabled === false) return undefined;
  api ??= import('@opentelemetry/api').then(
    (m) => {
      const mod = m as unknown as typeof Api & { default?: typeof Api };
      return mod.trace ? mod : mod.default;
    },
    () => undefined,
  );
  const loaded = await api;
  return loaded ? new Telemetry(loaded, role, deadLetterTopic) : undefined;
}
