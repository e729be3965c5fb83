import { MqttInvalidTopicError } from './errors.js';

const MAX_TOPIC_BYTES = 65_535;
const SHARE_PREFIX = '$share/';
/** EMQX's shared subscriptions without a group name: every `$queue/<filter>` subscriber is in one group. */
const QUEUE_PREFIX = '$queue/';

function checkCommon(kind: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new MqttInvalidTopicError(`${kind} must be a non-empty string`);
  }
  if (value.includes('\u0000')) {
    throw new MqttInvalidTopicError(`${kind} '${value}' contains U+0000, which MQTT forbids`);
  }
  if (value.length * 3 > MAX_TOPIC_BYTES && Buffer.byteLength(value) > MAX_TOPIC_BYTES) {
    throw new MqttInvalidTopicError(`${kind} is longer than ${MAX_TOPIC_BYTES} bytes in UTF-8`);
  }
}

/**
 * Checks a topic name for PUBLISH: non-empty, no wildcards, no U+0000, at most 65,535 UTF-8 bytes.
 * @throws MqttInvalidTopicError
 */
export function validateTopicName(topic: string, what = 'Topic name'): void {
  checkCommon(what, topic);
  if (topic.includes('+') || topic.includes('#')) {
    throw new MqttInvalidTopicError(
      `${what} '${topic}' contains a wildcard (+ or #); wildcards are only allowed in subscription filters`,
    );
  }
}

/** Checks each level of a filter without splitting it (no array per subscribe()). */
function validatePlainFilter(filter: string, original: string): void {
  for (let start = 0; ; ) {
    const slash = filter.indexOf('/', start);
    const end = slash < 0 ? filter.length : slash;
    // a level holding a wildcard must be just that wildcard ('#' only as the last level)
    if (levelHas(filter, start, end, 0x23 /* # */) && (end - start !== 1 || slash >= 0)) {
      throw new MqttInvalidTopicError(`Topic filter '${original}': '#' must be a whole level and the last one`);
    }
    if (levelHas(filter, start, end, 0x2b /* + */) && end - start !== 1) {
      throw new MqttInvalidTopicError(`Topic filter '${original}': '+' must fill a whole level`);
    }
    if (slash < 0) return;
    start = slash + 1;
  }
}

function levelHas(s: string, start: number, end: number, code: number): boolean {
  for (let i = start; i < end; i++) if (s.charCodeAt(i) === code) return true;
  return false;
}

/**
 * Checks a subscription filter, including shared filters `$share/<group>/<filter>`.
 * @throws MqttInvalidTopicError
 */
export function validateTopicFilter(filter: string): void {
  checkCommon('Topic filter', filter);
  const shared = splitShared(filter);
  if (shared) {
    const { group, filter: inner } = shared;
    if (group.length === 0 || group.includes('+') || group.includes('#')) {
      throw new MqttInvalidTopicError(
        `Shared filter '${filter}': the share name must be non-empty and contain no '/', '+' or '#'`,
      );
    }
    if (inner.length === 0)
      throw new MqttInvalidTopicError(`Shared filter '${filter}' has no topic filter after the share name`);
    validatePlainFilter(inner, filter);
    return;
  }
  validatePlainFilter(filter, filter);
}

function splitShared(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const rest = filter.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { group: rest, filter: '' };
  return { group: rest.slice(0, slash), filter: rest.slice(slash + 1) };
}

/**
 * Splits `$share/<group>/<filter>` into its parts (EMQX's `$queue/<filter>` gives the group `$queue`); a plain
 * filter comes back as `{ filter }`.
 */
export function parseSharedFilter(filter: string): { group?: string; filter: string } {
  if (filter.startsWith(QUEUE_PREFIX)) return { group: '$queue', filter: filter.slice(QUEUE_PREFIX.length) };
  return splitShared(filter) ?? { filter };
}

/** True when `filter` contains `+` or `#` (shared prefix excluded). */
export function hasWildcard(filter: string): boolean {
  const inner = parseSharedFilter(filter).filter;
  return inner.includes('+') || inner.includes('#');
}

/**
 * True when `topic` matches `filter` under MQTT rules. A shared filter matches on its inner filter.
 * Topics starting with `$` are not matched by a leading `+` or `#` (MQTT 5 section 4.7.2).
 * Works without allocating, so it is cheap enough for per-message routing.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter.charCodeAt(0) === 0x24 /* $ */ && (filter.startsWith(SHARE_PREFIX) || filter.startsWith(QUEUE_PREFIX))) {
    filter = parseSharedFilter(filter).filter;
  }
  const fc0 = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === 0x24 /* $ */ && (fc0 === 0x2b /* + */ || fc0 === 0x23) /* # */) return false;
  let f = 0;
  let t = 0;
  const fl = filter.length;
  const tl = topic.length;
  while (f < fl) {
    const c = filter.charCodeAt(f);
    if (c === 0x23) return true; // '#' matches the rest, including the parent level
    if (c === 0x2b) {
      while (t < tl && topic.charCodeAt(t) !== 0x2f) t++;
      f++;
    } else {
      if (t >= tl || topic.charCodeAt(t) !== c) {
        // 'a/#' also matches 'a': filter continues with '/#' where the topic ends
        return t === tl && c === 0x2f && f + 2 === fl && filter.charCodeAt(f + 1) === 0x23;
      }
      f++;
      t++;
    }
  }
  return t === tl;
}

/**
 * True when some topic name could match both filters (shared prefixes ignored). Conservative for `$` topics:
 * `#` and `foo` never share a topic, but `#` and `$SYS/x` are reported as overlapping.
 */
export function filtersOverlap(a: string, b: string): boolean {
  const x = parseSharedFilter(a).filter.split('/');
  const y = parseSharedFilter(b).filter.split('/');
  for (let i = 0; ; i++) {
    if (i === x.length || i === y.length) {
      const rest = i === x.length ? y.slice(i) : x.slice(i);
      return rest.length === 0 || (rest.length === 1 && rest[0] === '#');
    }
    if (x[i] === '#' || y[i] === '#') return true;
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false;
  }
}
