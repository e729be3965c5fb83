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
  /**
   * Shared group written into the pattern: `$share/<group>/<filter>` gives `<group>`, EMQX's `$queue/<filter>`
   * gives {@link QUEUE_GROUP}. Undefined for a plain pattern.
   */
  readonly shared?: string;
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

/**
 * The shared group of EMQX's `$queue/<filter>` patterns (one group of every `$queue` subscriber): such handlers
 * subscribe `$queue/<filter>` instead of `$share/<group>/<filter>`. Also accepted as the `shared` handler option.
 */
export const QUEUE_GROUP = '$queue';

/**
 * True when `pattern` is what Nest makes of an object pattern (`@MessagePattern({ cmd: 'sum' })` becomes the
 * string `{"cmd":"sum"}` in `Server.addHandler()` and `ClientProxy.send()` alike): its levels are all literal,
 * as in Nest's built-in `ServerMqtt`, so both sides use the same topic.
 */
export function isObjectPattern(pattern: string): boolean {
  if (!pattern.startsWith('{"') || !pattern.endsWith('}')) return false;
  try {
    const value: unknown = JSON.parse(pattern);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Splits a `$share/<group>/<filter>` or `$queue/<filter>` pattern; `where` names the handler in errors. */
function splitSharedPattern(pattern: string, where: string): { shared?: string; rest: string } {
  const fail = (why: string): never => {
    throw new MqttAsyncPatternError(`Invalid pattern '${pattern}' on ${where}: ${why}`);
  };
  if (pattern.startsWith(`${QUEUE_GROUP}/`)) {
    const rest = pattern.slice(QUEUE_GROUP.length + 1);
    if (rest.length === 0) fail(`no topic filter after '${QUEUE_GROUP}/'`);
    return { shared: QUEUE_GROUP, rest };
  }
  if (!pattern.startsWith('$share/')) return { rest: pattern };
  const after = pattern.slice('$share/'.length);
  const slash = after.indexOf('/');
  const group = slash < 0 ? after : after.slice(0, slash);
  const rest = slash < 0 ? '' : after.slice(slash + 1);
  if (group.length === 0 || /[+#]/.test(group)) fail("the share name must be non-empty without '/', '+' or '#'");
  if (rest.length === 0) fail("no topic filter after '$share/<group>/'");
  return { shared: group, rest };
}

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
 * wildcards. `$share/<group>/<filter>` and `$queue/<filter>` give the pattern a shared group (params still come
 * from the real topic). Object patterns (`{"cmd":"sum"}`, see {@link isObjectPattern}) are one literal topic.
 * `where` names the handler in error messages.
 * @throws MqttAsyncPatternError
 */
export function parseRoutePattern(pattern: unknown, where = 'a handler'): RoutePattern {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new MqttAsyncPatternError(
      `Invalid pattern ${JSON.stringify(pattern)} on ${where}: MQTT patterns must be non-empty topic strings`,
    );
  }
  const { shared, rest } = splitSharedPattern(pattern, where);
  const parts = rest.split('/');
  const levels: PatternLevel[] = isObjectPattern(rest)
    ? parts.map((value) => ({ kind: 'literal', value }))
    : parts.map((level, i) => parseLevel(level, i, parts.length, pattern, where));
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
  return shared === undefined ? { pattern, filter, levels, rank } : { pattern, filter, shared, levels, rank };
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
