/**
 * The routing layer's option handling (lib/nest/routing): which server-wide defaults and handler options are
 * accepted or refused at startup, what a handler ends up with, which handlers share a subscription, runtime
 * (detached) routes, and the pattern edges routing.spec.ts leaves out. Each case pins a behaviour a mutation run
 * showed untested (docs/mutation.md).
 */
import { describe, expect, it } from '@jest/globals';
import { checkHandlerOptionKeys } from '../../../lib/nest/routing/handler-options.js';
import { MqttAsyncPatternError, parseRoutePattern } from '../../../lib/nest/routing/pattern.js';
import { MqttAsyncRouter } from '../../../lib/nest/routing/router.js';

const newRouter = (defaults = {}) => new MqttAsyncRouter<string>(defaults);

describe('server-wide handler defaults', () => {
  it.each([
    { qos: 0 },
    { qos: 1 },
    { qos: 2 },
    { ack: 'auto' },
    { ack: 'after' },
    { ack: 'manual' },
    { concurrency: 1 },
    { group: 'svc' },
    { retry: { attempts: 3 } },
  ])('accepts %j and hands it to every handler without its own', (defaults) => {
    const entry = newRouter(defaults).add('t', 'h', true, {}, 'h');
    const [key, value] = Object.entries(defaults)[0] as [string, unknown];
    const got = (entry.options as unknown as Record<string, unknown>)[key === 'group' ? 'shared' : key];
    if (key === 'retry') expect(got).toMatchObject({ attempts: 3 });
    else expect(got).toBe(value);
  });

  it.each([
    [{ qos: -1 }, /option qos/],
    [{ ack: 'never' }, /option ack/],
    [{ concurrency: 1.5 }, /option concurrency/],
    [{ group: '' }, /option group/],
    [{ group: 'a+' }, /option group/],
    [{ group: 'a#' }, /option group/],
    [{ group: 5 }, /option group/],
    [{ retry: { attempts: 0 } }, /Invalid ServerMqttAsync option retry/],
  ])('refuses %j naming the option', (defaults, why) => {
    expect(() => newRouter(defaults)).toThrow(why);
  });
});

describe('handler options', () => {
  it('without options or defaults: QoS 1, concurrency 1, ack auto, not shared, nothing else set', () => {
    expect(newRouter().add('t', 'h', true, undefined, 'h').options).toStrictEqual({
      qos: 1,
      concurrency: 1,
      ack: 'auto',
    });
  });

  it('carries noLocal, retainHandling, ackTimeout (0 included) and onAckTimeout through', () => {
    const router = newRouter();
    const options = { noLocal: true, retainHandling: 2 as const, ackTimeout: 0, onAckTimeout: 'nack' as const };
    expect(router.add('t', 'h', true, options, 'h').options).toStrictEqual({
      qos: 1,
      concurrency: 1,
      ack: 'auto',
      ...options,
    });
    expect(router.add('u', 'h', true, { onAckTimeout: 'warn', noLocal: false }, 'h').options).toMatchObject({
      onAckTimeout: 'warn',
      noLocal: false,
    });
  });

  it.each([
    [{ qos: 3 }, 'qos must be 0, 1 or 2'],
    [{ ack: 'later' }, "ack must be 'auto'"],
    [{ concurrency: 2.5 }, 'concurrency must be an integer'],
    [{ shared: '' }, 'shared group'],
    [{ shared: 'a+' }, 'shared group'],
    [{ shared: 'a#' }, 'shared group'],
    [{ ackTimeout: -1 }, 'ackTimeout must be'],
    [{ ackTimeout: Number.NaN }, 'ackTimeout must be'],
    [{ ackTimeout: Number.POSITIVE_INFINITY }, 'ackTimeout must be'],
    [{ onAckTimeout: 'drop' }, "onAckTimeout must be 'warn' or 'nack'"],
  ])('refuses %p naming the handler', (extras, why) => {
    const add = () => newRouter().add('t', 'h', true, extras as never, 'Ctl.handle');
    expect(add).toThrow(MqttAsyncPatternError);
    expect(add).toThrow(why);
    expect(add).toThrow('Ctl.handle');
  });

  it('retry: an event handler gets its own or the server default; false opts out; an RPC handler may not have one', () => {
    const router = newRouter({ retry: { attempts: 2 } });
    expect(router.add('a', 'h', true, {}, 'h').options.retry).toMatchObject({ attempts: 2 });
    expect(router.add('b', 'h', true, { retry: { attempts: 5 } }, 'h').options.retry).toMatchObject({ attempts: 5 });
    expect(router.add('c', 'h', true, { retry: false }, 'h').options.retry).toBeUndefined();
    expect(router.add('d', 'h', false, {}, 'h').options.retry).toBeUndefined(); // the default is for events
    expect(() => router.add('e', 'h', false, { retry: { attempts: 2 } }, 'Ctl.rpc')).toThrow(/Ctl\.rpc.*retry/);
    expect(router.add('f', 'h', true, { retry: { attempts: 1 } }, 'h').options.retry).toBeUndefined(); // one try
  });
});

describe('subscription groups', () => {
  it.each([
    ['qos', { qos: 0 }],
    ['shared', { shared: 'g' }],
    ['concurrency', { concurrency: 2 }],
    ['ack', { ack: 'manual' }],
    ['noLocal', { noLocal: true }],
    ['retainHandling', { retainHandling: 1 }],
    ['ackTimeout', { ackTimeout: 10 }],
    ['onAckTimeout', { onAckTimeout: 'nack' }],
  ])('handlers differing only in %s get separate subscriptions', (_name, extras) => {
    const router = newRouter();
    router.add('a', 'plain', true, {}, 'plain');
    router.add('b', 'other', true, extras as never, 'other');
    expect(router.groups().map((g) => g.entries.map((e) => e.handler))).toEqual([['plain'], ['other']]);
  });

  it('handlers differing only in retry share one subscription; a filter is subscribed once', () => {
    const router = newRouter();
    router.add('a', 'x', true, {}, 'x');
    router.add('a', 'y', true, { retry: { attempts: 3 } }, 'y');
    expect(router.groups().map((g) => [g.filters, g.entries.map((e) => e.handler)])).toEqual([[['a'], ['x', 'y']]]);
  });
});

describe('runtime (detached) routes', () => {
  it('each is a group of its own, outside groups(); remove() takes it out of RPC routing', () => {
    const router = newRouter();
    const fixed = router.add('fixed/+', 'fixed', true, {}, 'fixed');
    const a = router.add('rt/a', 'a', true, {}, 'a', true);
    const b = router.add('rt/b', 'b', false, {}, 'b', true);
    expect(router.groups()).toEqual([fixed.group]);
    expect(a.group).not.toBe(b.group);
    expect(a.group.filters).toEqual(['rt/a']);
    expect(router.rpcRoute('rt/b')?.handler).toBe('b');
    router.remove(b);
    expect(router.rpcRoute('rt/b')).toBeUndefined();
    expect(b.group.entries).toEqual([]);
    router.remove(a);
    expect(a.group.entries).toEqual([]);
    expect(router.hasRoutes()).toBe(true);
  });

  it('a runtime RPC route may not overlap another RPC route; a runtime event route may', () => {
    const router = newRouter();
    router.add('dev/+/cmd', 'rpc', false, {}, 'rpc');
    expect(() => router.add('dev/1/#', 'x', false, {}, 'Ctl.late', true)).toThrow(/Ctl\.late overlaps.*dev\/\+\/cmd/);
    expect(router.add('dev/1/#', 'ev', true, {}, 'ev', true).handler).toBe('ev');
    expect(router.add('other/+', 'rpc2', false, {}, 'rpc2', true).handler).toBe('rpc2');
  });

  it('removing a runtime event route leaves every RPC route in place, also when removed twice', () => {
    const router = newRouter();
    router.add('rpc/a', 'a', false, {}, 'a');
    router.add('rpc/b', 'b', false, {}, 'b');
    const ev = router.add('ev', 'ev', true, {}, 'ev', true);
    router.remove(ev);
    router.remove(ev);
    expect([router.rpcRoute('rpc/a')?.handler, router.rpcRoute('rpc/b')?.handler]).toEqual(['a', 'b']);
  });

  it('an RPC route registered at startup may overlap another (the most specific answers)', () => {
    const router = newRouter();
    router.add('dev/+/cmd', 'wide', false, {}, 'wide');
    router.add('dev/1/cmd', 'narrow', false, {}, 'narrow');
    expect(router.rpcRoute('dev/1/cmd')?.handler).toBe('narrow');
  });
});

describe('pattern edges', () => {
  it.each([
    ['a/id}', 'must fill a whole level'],
    ['a/:1x', 'not a valid parameter name'],
    ['a/{x}/:x', "parameter 'x' repeats"],
    ['{"a"}', 'not a valid parameter name'], // looks like an object pattern but is not JSON
    ['a/{x y}', 'not a valid parameter name'], // the whole name must match, not a prefix
  ])('rejects %s', (pattern, why) => {
    expect(() => parseRoutePattern(pattern, 'h')).toThrow(why);
  });

  it(':name and {name} params accept letters, digits after the first, _, $ and -', () => {
    expect(parseRoutePattern('a/:dev_1/{$x-y}').levels).toEqual([
      { kind: 'literal', value: 'a' },
      { kind: 'param', name: 'dev_1' },
      { kind: 'param', name: '$x-y' },
    ]);
  });

  it('ranks each level: literal 2, + or param 1, # 0', () => {
    expect(parseRoutePattern('a/+/{b}/#').rank).toEqual([2, 1, 1, 0]);
  });
});

describe('handler option keys', () => {
  it('every handler option is a known key', () => {
    const all = {
      qos: 1,
      shared: 'g',
      concurrency: 1,
      ack: 'auto',
      noLocal: true,
      retainHandling: 0,
      ackTimeout: 1,
      onAckTimeout: 'warn',
      retry: false,
    };
    expect(() => checkHandlerOptionKeys(all, 'h')).not.toThrow();
  });

  it.each([
    ['acks', "unknown option 'acks' (did you mean 'ack'?)"],
    ['QOS', "unknown option 'QOS' (did you mean 'qos'?)"],
    ['ackTimout', "(did you mean 'ackTimeout'?)"],
    ['sharde', "(did you mean 'shared'?)"],
  ])('an unknown key %s names the near miss', (key, text) => {
    expect(() => checkHandlerOptionKeys({ qos: 1, [key]: 1 }, 'Ctl.m')).toThrow(text);
  });

  it('a key far from every option names none, and the error names the handler and the options', () => {
    const fail = () => checkHandlerOptionKeys({ zzzzzzzz: 1 }, 'Ctl.m');
    expect(fail).toThrow(MqttAsyncPatternError);
    expect(fail).toThrow(
      /^Invalid handler options on Ctl\.m: unknown option 'zzzzzzzz'; the options are ack, ackTimeout,/,
    );
  });
});
