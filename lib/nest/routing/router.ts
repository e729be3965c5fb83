import { filtersOverlap, parseSharedFilter, type QoS, type RetainHandling } from '../../driver/index.js';
import type {
  AckTimeoutAction,
  HandlerAckMode,
  MqttAsyncHandlerDefaults,
  MqttAsyncHandlerOptions,
} from '../options.js';
import { checkHandlerOptionKeys } from './handler-options.js';
import {
  compareSpecificity,
  MqttAsyncPatternError,
  parseRoutePattern,
  QUEUE_GROUP,
  type RoutePattern,
  routeMatches,
} from './pattern.js';
import { checkRetry, type RetryPolicy, resolveRetry } from './retry-options.js';

/** Handler options with defaults applied. */
export interface ResolvedHandlerOptions {
  qos: QoS;
  shared?: string;
  concurrency: number;
  ack: HandlerAckMode;
  noLocal?: boolean;
  retainHandling?: RetainHandling;
  /** Unset: the server's default. */
  ackTimeout?: number;
  onAckTimeout?: AckTimeoutAction;
  /**
   * This handler's retries (event handlers only; unset: one attempt). Applied per handler run, so it is not part
   * of the subscription grouping: handlers that differ only in it share a subscription.
   */
  retry?: RetryPolicy;
}

/** One registered handler and where it listens. */
export interface RouteEntry<H> {
  readonly route: RoutePattern;
  readonly handler: H;
  readonly isEvent: boolean;
  readonly options: ResolvedHandlerOptions;
  /** Registration order, the tie-breaker between equally specific patterns. */
  readonly order: number;
  readonly group: SubscriptionGroup<H>;
}

/** Handlers that share one `subscribe()` call: same QoS, options and shared group. */
export interface SubscriptionGroup<H> {
  readonly key: string;
  /** Filters to subscribe, `$share/<group>/` prefixed when shared; deduplicated. */
  readonly filters: string[];
  readonly options: ResolvedHandlerOptions;
  readonly entries: RouteEntry<H>[];
}

/** Default QoS of a handler's subscription. */
export const DEFAULT_HANDLER_QOS: QoS = 1;

/** Checks the server-wide handler defaults; throws naming the server option. */
export function checkHandlerDefaults(defaults: MqttAsyncHandlerDefaults): void {
  const { qos, ack, concurrency, group, retry } = defaults;
  const fail = (why: string): never => {
    throw new MqttAsyncPatternError(`Invalid ServerMqttAsync option ${why}`);
  };
  if (qos !== undefined && qos !== 0 && qos !== 1 && qos !== 2) fail(`qos: must be 0, 1 or 2, got ${String(qos)}`);
  if (ack !== undefined && ack !== 'auto' && ack !== 'after' && ack !== 'manual') {
    fail(`ack: must be 'auto', 'after' or 'manual', got ${String(ack)}`);
  }
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    fail(`concurrency: must be an integer >= 1, got ${String(concurrency)}`);
  }
  if (group !== undefined && (typeof group !== 'string' || group.length === 0 || /[/+#]/.test(group))) {
    fail(`group: '${String(group)}' must be a non-empty string without '/', '+' or '#'`);
  }
  if (retry !== undefined) checkRetry(retry, 'Invalid ServerMqttAsync option retry');
}

/**
 * Applies defaults to a handler's `extras`: its own options, else the server's `defaults`, else the built-in
 * defaults (QoS 1, concurrency 1, ack 'auto', not shared). Throws naming `where` on invalid values.
 */
export function resolveHandlerOptions(
  extras: MqttAsyncHandlerOptions | undefined,
  where: string,
  defaults: MqttAsyncHandlerDefaults = {},
): ResolvedHandlerOptions {
  const e = extras ?? {};
  checkHandlerOptionKeys(e, where);
  const fail = (why: string): never => {
    throw new MqttAsyncPatternError(`Invalid handler options on ${where}: ${why}`);
  };
  const qos = e.qos ?? defaults.qos ?? DEFAULT_HANDLER_QOS;
  if (qos !== 0 && qos !== 1 && qos !== 2) fail(`qos must be 0, 1 or 2, got ${String(qos)}`);
  const concurrency = e.concurrency ?? defaults.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    fail(`concurrency must be an integer >= 1, got ${concurrency}`);
  const ack = e.ack ?? defaults.ack ?? 'auto';
  if (ack !== 'auto' && ack !== 'after' && ack !== 'manual') fail(`ack must be 'auto', 'after' or 'manual'`);
  if (e.shared !== undefined && e.shared !== false && (e.shared.length === 0 || /[/+#]/.test(e.shared))) {
    fail(`shared group '${e.shared}' must be non-empty without '/', '+' or '#'`);
  }
  if (e.ackTimeout !== undefined && !(Number.isFinite(e.ackTimeout) && e.ackTimeout >= 0)) {
    fail(`ackTimeout must be a number of ms >= 0, got ${String(e.ackTimeout)}`);
  }
  if (e.onAckTimeout !== undefined && e.onAckTimeout !== 'warn' && e.onAckTimeout !== 'nack') {
    fail(`onAckTimeout must be 'warn' or 'nack'`);
  }
  const shared = e.shared === false ? undefined : (e.shared ?? defaults.group);
  const resolved: ResolvedHandlerOptions = { qos, concurrency, ack };
  if (e.ackTimeout !== undefined) resolved.ackTimeout = e.ackTimeout;
  if (e.onAckTimeout !== undefined) resolved.onAckTimeout = e.onAckTimeout;
  if (shared !== undefined) resolved.shared = shared;
  if (e.noLocal !== undefined) resolved.noLocal = e.noLocal;
  if (e.retainHandling !== undefined) resolved.retainHandling = e.retainHandling;
  return resolved;
}

function groupKey(o: ResolvedHandlerOptions): string {
  return JSON.stringify([
    o.qos,
    o.shared ?? null,
    o.concurrency,
    o.ack,
    o.noLocal ?? null,
    o.retainHandling ?? null,
    o.ackTimeout ?? null,
    o.onAckTimeout ?? null,
  ]);
}

/**
 * Routes topics to handlers. RPC: the single most specific `@MessagePattern` route (literal > `+` > `#`, then
 * registration order). Events: every matching `@EventPattern` route of the subscription the message came on.
 */
export class MqttAsyncRouter<H> {
  private readonly byKey = new Map<string, SubscriptionGroup<H>>();
  private readonly rpcRoutes: RouteEntry<H>[] = [];
  private order = 0;

  /** `defaults`: the server-wide handler options (checked here). @throws MqttAsyncPatternError */
  constructor(private readonly defaults: MqttAsyncHandlerDefaults = {}) {
    checkHandlerDefaults(defaults);
  }

  /**
   * Registers a handler. `detached`: in a subscription group of its own, outside `groups()` (a runtime
   * subscription, subscribed and removed on its own); as an RPC route it must not overlap another RPC route.
   * @throws MqttAsyncPatternError naming `where`.
   */
  add(
    pattern: unknown,
    handler: H,
    isEvent: boolean,
    extras: MqttAsyncHandlerOptions | undefined,
    where: string,
    detached = false,
  ) {
    const route = parseRoutePattern(pattern, where);
    const options = resolveHandlerOptions(extras, where, this.defaults);
    const retry = resolveRetry(extras?.retry, this.defaults.retry, isEvent, where);
    if (retry) options.retry = retry;
    if (route.shared !== undefined) {
      // The pattern's group wins over the server's `group`, but must agree with the handler's own `shared`.
      const own = extras?.shared;
      if (typeof own === 'string' && own !== route.shared) {
        throw new MqttAsyncPatternError(
          `Invalid handler options on ${where}: the pattern names the shared group '${route.shared}', the options '${own}'`,
        );
      }
      options.shared = route.shared;
    }
    if (detached && !isEvent) this.checkNoRpcOverlap(route, where);
    const key = detached ? `detached:${this.order}` : groupKey(options);
    let group = this.byKey.get(key);
    if (!group) {
      group = { key, filters: [], options, entries: [] };
      if (!detached) this.byKey.set(key, group);
    }
    const filter = options.shared === undefined ? route.filter : sharedFilter(options.shared, route.filter);
    if (!group.filters.includes(filter)) group.filters.push(filter);
    const entry: RouteEntry<H> = { route, handler, isEvent, options, order: this.order++, group };
    group.entries.push(entry);
    if (!isEvent) {
      this.rpcRoutes.push(entry);
      this.rpcRoutes.sort((a, b) => compareSpecificity(a.route, b.route) || a.order - b.order);
    }
    return entry;
  }

  /** Unregisters a handler added with `detached` (its group goes with it). */
  remove(entry: RouteEntry<H>): void {
    const at = this.rpcRoutes.indexOf(entry);
    if (at >= 0) this.rpcRoutes.splice(at, 1);
    const i = entry.group.entries.indexOf(entry);
    if (i >= 0) entry.group.entries.splice(i, 1);
  }

  /**
   * A runtime RPC route must not share topics with another: which handler answers a request is decided when
   * each subscription's copy is processed, so moving topics between subscriptions at runtime could drop a
   * request (neither copy answers it) or answer it twice.
   */
  private checkNoRpcOverlap(route: RoutePattern, where: string): void {
    const other = this.rpcRoutes.find((e) => filtersOverlap(e.route.filter, route.filter));
    if (!other) return;
    throw new MqttAsyncPatternError(
      `${where} overlaps the RPC route '${other.route.pattern}': a runtime RPC subscription must not share ` +
        'topics with another RPC route (a request could be dropped or answered twice while it is added or ' +
        "removed); use a pattern that does not overlap, or kind: 'event'",
    );
  }

  /**
   * Filters to subscribe for `group`, without those another filter of the group already covers: MQTT 5 brokers
   * (mosquitto) deliver one copy per matching subscription, which would run handlers twice.
   */
  subscribeFilters(group: SubscriptionGroup<H>): string[] {
    return group.filters.filter(
      (f, i) => !group.filters.some((g, j) => j !== i && covers(g, f) && (!covers(f, g) || j < i)),
    );
  }

  /** Subscription groups, in registration order of their first handler. */
  groups(): SubscriptionGroup<H>[] {
    return [...this.byKey.values()];
  }

  /** The one `@MessagePattern` route for `topic`, across all groups. */
  rpcRoute(topic: string): RouteEntry<H> | undefined {
    return this.rpcRoutes.find((e) => routeMatches(e.route, topic));
  }

  /** The `@EventPattern` routes of `group` matching `topic`, in registration order. */
  eventRoutes(group: SubscriptionGroup<H>, topic: string): RouteEntry<H>[] {
    return group.entries.filter((e) => e.isEvent && routeMatches(e.route, topic));
  }

  /** True when any route (of any kind) in `group` matches `topic`. */
  hasRoutes(): boolean {
    return this.byKey.size > 0;
  }
}

/** The filter a member of shared group `group` subscribes: `$share/<group>/<filter>`, or EMQX's `$queue/<filter>`. */
export function sharedFilter(group: string, filter: string): string {
  return group === QUEUE_GROUP ? `${QUEUE_GROUP}/${filter}` : `$share/${group}/${filter}`;
}

/** True when every topic matching filter `b` also matches filter `a` (same `$share` group required). */
export function covers(a: string, b: string): boolean {
  const sa = parseSharedFilter(a);
  const sb = parseSharedFilter(b);
  if (sa.group !== sb.group) return false;
  const la = sa.filter.split('/');
  const lb = sb.filter.split('/');
  if (lb[0]?.startsWith('$') && (la[0] === '+' || la[0] === '#')) return false;
  for (let i = 0; i < la.length; i++) {
    const x = la[i]!;
    if (x === '#') return true;
    const y = lb[i];
    if (y === undefined || y === '#') return false;
    if (x === '+') continue;
    if (x !== y) return false;
  }
  return la.length === lb.length;
}
