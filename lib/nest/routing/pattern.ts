import { topicMatches, validateTopicFilter } from '../../driver/index.js';
import { MqttAsyncError } from '../errors.js';

/** One level of a parsed route pattern. */
export type PatternLevel =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'single' }
  | { kind: 'multi' };

/** A handler pattern turned into an MQTT filter plus what is needed to extract params and rank matches. */
export interface RoutePattern {
  /** The pattern as written on the decorator. */
  readonly pattern: string;
  /** The MQTT topic filter it subscribes (params become `+`), without any `$share` prefix. */
  readonly filter: string;
  readonly levels: readonly PatternLevel[];
  /** Per level: 2 literal, 1 single-level wildcard or param, 0 multi-level wildcard. Higher is more specific. */
  readonly rank: readonly number[];
}

/** Thrown at startup when a handler pattern cannot become an MQTT filter. */
export class MqttAsyncPatternError extends MqttAsyncError {
  constructor(message: string) {
    super(message);
  }
}

const PARAM_NAME = /^[A-Za-z_$][\w$-]*$/;

function parseLevel(level: string, index: number, count: number, pattern: string, where: string): PatternLevel {
  const fail = (why: string): never => {
    throw new MqttAsyncPatternError(`Invalid pattern '${pattern}' on ${where}: ${why}`);
  };
  if (level === '#') {
    if (index !== count - 1) fail("'#' must be the last level");
    return { kind: 'multi' };
  }
  if (level === '+') return { kind: 'single' };
  let name: string | undefined;
  if (level.startsWith('{') || level.endsWith('}')) {
    if (!(level.startsWith('{') && level.endsWith('}'))) fail(`'${level}': a {param} must fill a whole level`);
    name = level.slice(1, -1);
  } else if (level.startsWith(':')) {
    name = level.slice(1);
  } else if (level.includes('{') || level.includes('}')) {
    fail(`'${level}': a {param} must fill a whole level`);
  }
  if (name !== undefined) {
    if (!PARAM_NAME.test(name)) fail(`'${level}' is not a valid parameter name`);
    return { kind: 'param', name };
  }
  if (level.includes('+') || level.includes('#')) fail(`'${level}': wildcards must fill a whole level`);
  return { kind: 'literal', value: level };
}

/**
 * Parses a handler pattern: `{name}` and `:name` fill a whole level (subscribed as `+`), `+` and `#` are raw
 * wildcards. `where` names the handler in error messages.
 * @throws MqttAsyncPatternError
 */
export function parseRoutePattern(pattern: unknown, where = 'a handler'): RoutePattern {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new MqttAsyncPatternError(
      `Invalid pattern ${JSON.stringify(pattern)} on ${where}: MQTT patterns must be non-empty topic strings`,
    );
  }
  if (pattern.startsWith('$share/')) {
    throw new MqttAsyncPatternError(
      `Invalid pattern '${pattern}' on ${where}: use the handler option { shared: '<group>' } instead of '$share/'`,
    );
  }
  const parts = pattern.split('/');
  const levels = parts.map((level, i) => parseLevel(level, i, parts.length, pattern, where));
  const names = new Set<string>();
  for (const level of levels) {
    if (level.kind !== 'param') continue;
    if (names.has(level.name)) {
      throw new MqttAsyncPatternError(`Invalid pattern '${pattern}' on ${where}: parameter '${level.name}' repeats`);
    }
    names.add(level.name);
  }
  const filter = levels.map(levelFilter).join('/');
  try {
    validateTopicFilter(filter);
  } catch (err) {
    throw new MqttAsyncPatternError(`Invalid pattern '${pattern}' on ${where}: ${(err as Error).message}`);
  }
  const rank = levels.map((l) => (l.kind === 'literal' ? 2 : l.kind === 'multi' ? 0 : 1));
  return { pattern, filter, levels, rank };
}

function levelFilter(level: PatternLevel): string {
  switch (level.kind) {
    case 'literal':
      return level.value;
    case 'multi':
      return '#';
    default:
      return '+';
  }
}

/** Does `topic` match the route? */
export function routeMatches(route: RoutePattern, topic: string): boolean {
  return topicMatches(route.filter, topic);
}

/** Values of the route's named params in `topic` (call only when it matches). */
export function extractParams(route: RoutePattern, topic: string): Record<string, string> {
  const params: Record<string, string> = {};
  if (!route.levels.some((l) => l.kind === 'param')) return params;
  const parts = topic.split('/');
  route.levels.forEach((level, i) => {
    if (level.kind === 'param') params[level.name] = parts[i] ?? '';
  });
  return params;
}

/**
 * Orders routes by specificity, most specific first: compared level by level, literal beats `+`/param beats `#`;
 * a longer literal path beats a prefix of it. Returns < 0 when `a` is more specific.
 */
export function compareSpecificity(a: RoutePattern, b: RoutePattern): number {
  const n = Math.max(a.rank.length, b.rank.length);
  for (let i = 0; i < n; i++) {
    const ra = a.rank[i] ?? 1.5; // a pattern that ended matches exactly where the other needs its trailing #
    const rb = b.rank[i] ?? 1.5;
    if (ra !== rb) return rb - ra;
  }
  return 0;
}
