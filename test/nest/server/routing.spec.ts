import { describe, expect, it } from '@jest/globals';
import {
  compareSpecificity,
  extractParams,
  MqttAsyncPatternError,
  parseRoutePattern,
} from '../../../lib/nest/routing/pattern.js';
import { covers, MqttAsyncRouter } from '../../../lib/nest/routing/router.js';

describe('parseRoutePattern', () => {
  it('turns {name} and :name levels into + and keeps raw wildcards', () => {
    expect(parseRoutePattern('devices/{id}/cmd').filter).toBe('devices/+/cmd');
    expect(parseRoutePattern('devices/:id/cmd/#').filter).toBe('devices/+/cmd/#');
    expect(parseRoutePattern('a/+/b').filter).toBe('a/+/b');
    expect(parseRoutePattern('#').filter).toBe('#');
  });

  it.each([
    ['devices/{id', 'must fill a whole level'],
    ['devices/x{id}/cmd', 'must fill a whole level'],
    ['a/#/b', "'#' must be the last level"],
    ['a/b+/c', 'wildcards must fill a whole level'],
    ['a/{x}/{x}', "parameter 'x' repeats"],
    ['a/{1x}', 'not a valid parameter name'],
    ['$share/g', 'no topic filter'],
    ['$share//a', 'share name'],
    ['$share/g+/a', 'share name'],
    ['$queue/', 'no topic filter'],
    ['$share/g/a/{id', 'must fill a whole level'],
  ])('rejects %s naming the handler', (pattern, why) => {
    const fail = () => parseRoutePattern(pattern, "@EventPattern('x') on Ctl.m");
    expect(fail).toThrow(MqttAsyncPatternError);
    expect(fail).toThrow(why);
    expect(fail).toThrow("@EventPattern('x') on Ctl.m");
  });

  it('keeps every level of an object pattern literal: the topic Nest makes of { cmd: "sum" } on both sides', () => {
    for (const pattern of ['{"cmd":"sum"}', '{"cmd":"a/{id}","n":1}', '{"a":":x","b":{"c":"{y}"}}']) {
      const route = parseRoutePattern(pattern, 'h');
      expect(route.filter).toBe(pattern);
      expect(route.levels.every((l) => l.kind === 'literal')).toBe(true);
      expect(extractParams(route, pattern)).toEqual({});
    }
    // Wildcards inside an object pattern cannot be subscribed (Nest's ServerMqtt fails on them as well).
    expect(() => parseRoutePattern('{"cmd":"a+"}', 'h')).toThrow(MqttAsyncPatternError);
  });

  it('reads a shared group from $share/<group>/<filter> and EMQX $queue/<filter>; params still work', () => {
    const shared = parseRoutePattern('$share/workers/jobs/{kind}/#', 'h');
    expect(shared).toMatchObject({ pattern: '$share/workers/jobs/{kind}/#', filter: 'jobs/+/#', shared: 'workers' });
    expect(extractParams(shared, 'jobs/render/1')).toEqual({ kind: 'render' });
    expect(parseRoutePattern('$queue/jobs/+', 'h')).toMatchObject({ filter: 'jobs/+', shared: '$queue' });
    expect(parseRoutePattern('jobs/+', 'h').shared).toBeUndefined();
  });

  it('rejects non-string and empty patterns', () => {
    expect(() => parseRoutePattern({ cmd: 'x' }, 'h')).toThrow('non-empty topic strings');
    expect(() => parseRoutePattern('', 'h')).toThrow(MqttAsyncPatternError);
  });
});

describe('extractParams', () => {
  it('reads named levels from the real topic', () => {
    const route = parseRoutePattern('sensors/{site}/:device/#');
    expect(extractParams(route, 'sensors/berlin/t1/temp/c')).toEqual({ site: 'berlin', device: 't1' });
    expect(extractParams(parseRoutePattern('a/+/b'), 'a/x/b')).toEqual({});
  });
});

describe('specificity', () => {
  const rank = (...patterns: string[]) =>
    patterns
      .map((p) => parseRoutePattern(p))
      .sort(compareSpecificity)
      .map((r) => r.pattern);

  it('orders literal > + > # level by level', () => {
    expect(rank('#', 'devices/+/cmd', 'devices/t1/cmd', 'devices/#')).toEqual([
      'devices/t1/cmd',
      'devices/+/cmd',
      'devices/#',
      '#',
    ]);
  });

  it('prefers the exact topic over a parent match by #', () => {
    expect(rank('a/#', 'a')).toEqual(['a', 'a/#']);
  });
});

describe('MqttAsyncRouter', () => {
  it('picks one most specific RPC handler, registration order breaking ties', () => {
    const router = new MqttAsyncRouter<string>();
    router.add('devices/#', 'hash', false, {}, 'h1');
    router.add('devices/{id}/cmd', 'param', false, {}, 'h2');
    router.add('devices/+/cmd', 'plus', false, {}, 'h3');
    router.add('devices/t1/cmd', 'literal', false, {}, 'h4');
    expect(router.rpcRoute('devices/t1/cmd')?.handler).toBe('literal');
    expect(router.rpcRoute('devices/t2/cmd')?.handler).toBe('param');
    expect(router.rpcRoute('devices/t2/x')?.handler).toBe('hash');
    expect(router.rpcRoute('other')).toBeUndefined();
  });

  it('gives events every matching handler of the subscription and batches filters per option set', () => {
    const router = new MqttAsyncRouter<string>();
    router.add('t/{id}/temp', 'a', true, { qos: 1 }, 'a');
    router.add('t/+/temp', 'b', true, { qos: 1 }, 'b');
    router.add('t/#', 'c', true, { qos: 0 }, 'c');
    router.add('jobs/#', 'd', true, { qos: 1, shared: 'pool' }, 'd');
    const groups = router.groups();
    expect(groups.map((g) => g.filters)).toEqual([['t/+/temp'], ['t/#'], ['$share/pool/jobs/#']]);
    expect(router.eventRoutes(groups[0]!, 't/1/temp').map((e) => e.handler)).toEqual(['a', 'b']);
    expect(router.eventRoutes(groups[1]!, 't/1/temp').map((e) => e.handler)).toEqual(['c']);
    expect(router.eventRoutes(groups[2]!, 'jobs/x/y').map((e) => e.handler)).toEqual(['d']);
    expect(extractParams(router.eventRoutes(groups[0]!, 't/9/temp')[0]!.route, 't/9/temp')).toEqual({ id: '9' });
  });

  it('rejects invalid handler options naming the handler', () => {
    const router = new MqttAsyncRouter<string>();
    expect(() => router.add('a', 'x', true, { concurrency: 0 }, 'Ctl.m')).toThrow(/Ctl\.m.*concurrency/);
    expect(() => router.add('a', 'x', true, { shared: 'a/b' }, 'Ctl.m')).toThrow(/shared group/);
    expect(() => router.add('$share/g/a', 'x', true, { shared: 'h' }, 'Ctl.m')).toThrow(/Ctl\.m.*'g'.*'h'/);
  });

  it('applies the server-wide defaults (qos, ack, concurrency, group) unless the handler says otherwise', () => {
    const router = new MqttAsyncRouter<string>({ qos: 2, ack: 'after', concurrency: 4, group: 'svc' });
    const plain = router.add('a/+', 'a', false, {}, 'a');
    expect(plain.options).toEqual({ qos: 2, ack: 'after', concurrency: 4, shared: 'svc' });
    expect(plain.group.filters).toEqual(['$share/svc/a/+']);
    const own = router.add('b', 'b', true, { qos: 0, ack: 'manual', concurrency: 1, shared: 'other' }, 'b');
    expect(own.options).toEqual({ qos: 0, ack: 'manual', concurrency: 1, shared: 'other' });
    const out = router.add('c', 'c', true, { shared: false }, 'c');
    expect(out.options.shared).toBeUndefined();
    expect(out.group.filters).toEqual(['c']);
    expect(router.add('$share/g/d', 'd', true, {}, 'd').group.filters).toEqual(['$share/g/d']);
  });

  it.each([
    [{ qos: 3 }, /option qos/],
    [{ ack: 'later' }, /option ack/],
    [{ concurrency: 0 }, /option concurrency/],
    [{ group: 'a/b' }, /option group/],
  ])('rejects invalid server-wide defaults %j naming the option', (defaults, why) => {
    expect(() => new MqttAsyncRouter<string>(defaults as never)).toThrow(why);
  });

  it('subscribes $share and $queue patterns as members of their group, like the shared option', () => {
    const router = new MqttAsyncRouter<string>();
    router.add('$share/g/jobs/#', 'a', false, {}, 'a');
    router.add('jobs/x', 'b', true, { shared: 'g' }, 'b');
    router.add('$share/g/more/+', 'c', true, { shared: 'g' }, 'c');
    router.add('$queue/q/+', 'd', true, {}, 'd');
    expect(router.groups().map((g) => g.filters)).toEqual([
      ['$share/g/jobs/#', '$share/g/jobs/x', '$share/g/more/+'],
      ['$queue/q/+'],
    ]);
    expect(router.rpcRoute('jobs/1')?.handler).toBe('a');
    expect(router.eventRoutes(router.groups()[1]!, 'q/1').map((e) => e.handler)).toEqual(['d']);
  });
});

describe('subscribeFilters', () => {
  it('drops filters another filter of the same group covers, so MQTT 5 brokers send one copy', () => {
    const router = new MqttAsyncRouter<string>();
    for (const p of ['devices/{id}/cmd', 'devices/special/cmd', 'devices/#', 'x/+', '$SYS/a'])
      router.add(p, p, false, {}, p);
    router.add('#', 'all', true, {}, 'all');
    const [group] = router.groups();
    expect(router.subscribeFilters(group!)).toEqual(['$SYS/a', '#']);
    expect(covers('a/+', 'a/b')).toBe(true);
    expect(covers('a/b', 'a/+')).toBe(false);
    expect(covers('a/#', 'a')).toBe(true);
    expect(covers('$share/g/a/#', 'a/b')).toBe(false);
  });
});

describe('router edges (closing surviving mutants, docs/mutation.md)', () => {
  it('an @EventPattern is never the RPC route, and eventRoutes() gives only events matching the topic', () => {
    const router = new MqttAsyncRouter<string>();
    router.add('e/x', 'event', true, undefined, 'event');
    router.add('e/+', 'rpc', false, {}, 'rpc');
    router.add('e/y', 'other event', true, {}, 'other event');
    expect(router.rpcRoute('e/x')?.handler).toBe('rpc');
    const onlyEvents = new MqttAsyncRouter<string>();
    onlyEvents.add('e/x', 'event', true, {}, 'event');
    expect(onlyEvents.rpcRoute('e/x')).toBeUndefined();
    const [group] = router.groups();
    expect(router.eventRoutes(group!, 'e/x').map((e) => e.handler)).toEqual(['event']);
    expect(router.eventRoutes(group!, 'e/z')).toEqual([]);
  });

  it('of two RPC routes equally specific for a topic, the first registered wins', () => {
    const router = new MqttAsyncRouter<string>();
    router.add('a/{id}', 'first', false, {}, 'first');
    router.add('a/+', 'second', false, {}, 'second');
    router.add('b/+', 'b', false, {}, 'b');
    router.add('a/:name', 'third', false, {}, 'third');
    expect(router.rpcRoute('a/1')?.handler).toBe('first');
    expect(router.groups()[0]!.filters).toEqual(['a/+', 'b/+']);
  });

  it('hasRoutes() is false until a handler is added', () => {
    const router = new MqttAsyncRouter<string>();
    expect(router.hasRoutes()).toBe(false);
    router.add('a', 'a', true, {}, 'a');
    expect(router.hasRoutes()).toBe(true);
    // A $share pattern without handler options at all (extras undefined) is fine too.
    expect(router.add('$share/g/z', 'z', true, undefined, 'z').options.shared).toBe('g');
  });

  it('subscribeFilters() keeps filters nothing else covers, in registration order', () => {
    const router = new MqttAsyncRouter<string>();
    for (const p of ['a/b', 'c/d', 'a/+', 'e/f/g']) router.add(p, p, true, {}, p);
    expect(router.subscribeFilters(router.groups()[0]!)).toEqual(['c/d', 'a/+', 'e/f/g']);
  });

  it('covers(): wildcards at the first level never cover $-topics; a longer or # level is not covered', () => {
    expect(covers('+/x', '$SYS/x')).toBe(false);
    expect(covers('#', '$SYS/x')).toBe(false);
    expect(covers('$SYS/#', '$SYS/x')).toBe(true);
    expect(covers('+/x', 'a/x')).toBe(true);
    expect(covers('#', 'a/x')).toBe(true);
    expect(covers('a/+', 'a/#')).toBe(false);
    expect(covers('a/b', 'a/#')).toBe(false);
    expect(covers('a/b/c', 'a/b')).toBe(false);
    expect(covers('a/b', 'a/b/c')).toBe(false);
    expect(covers('a/+', 'a/b/c')).toBe(false);
    expect(covers('a/b', 'a/b')).toBe(true);
  });
});
