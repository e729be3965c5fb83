import { describe, expect, it } from '@jest/globals';
import { canonicalFilter, SubscriptionTable } from '../../../lib/driver/subscription-table.js';
import { filtersOverlap } from '../../../lib/driver/topic.js';

const entry = (...filters: string[]) => ({ filters });

describe('filtersOverlap', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/+', 'a', false],
    ['a/+/c', 'a/b/d', false],
    ['+/+', '#', true],
    ['a/b', 'a/b/c', false],
    ['$share/g/a/#', 'a/x', true],
    ['$share/g/x/#', 'a/x', false],
  ])('%s vs %s → %s', (a, b, expected) => {
    expect(filtersOverlap(a, b)).toBe(expected);
    expect(filtersOverlap(b, a)).toBe(expected);
  });
});

describe('SubscriptionTable', () => {
  it('plans one packet for disjoint filters and splits overlapping ones', () => {
    const t = new SubscriptionTable();
    expect(t.plan(['a/1', 'b/+', 'c/#']).map((p) => p.indexes)).toEqual([[0, 1, 2]]);
    const plans = t.plan(['a/#', 'a/x', 'b', 'a/+']);
    expect(plans.map((p) => p.indexes)).toEqual([[0, 2], [1], [3]]);
    expect(new Set(plans.map((p) => p.id)).size).toBe(3);
  });

  it('delivers the copy of the canonical filter only, whatever order copies arrive in', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const e = entry('a/#', 'a/x');
    const plans = t.plan(e.filters);
    t.add(e, plans);
    const [hash, exact] = plans.map((p) => p.id) as [number, number];
    expect(t.routeByIds('a/x', [exact])).toBe('duplicate');
    expect(t.routeByIds('a/x', [hash])).toEqual([e]);
    expect(t.routeByIds('a/x', [exact, hash])).toEqual([e]);
    expect(t.routeByIds('a/y', [hash])).toEqual([e]);
    expect(t.routeByIds('a/x', [999])).toEqual([]);
  });

  it('one identifier of a one-filter entry (the common case, routed without sets) gives exactly what the general rule gives', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const plain = entry('d/+');
    const shared = entry('$share/g/s/#');
    const [p] = t.plan(plain.filters);
    t.add(plain, [p!]);
    const [s] = t.plan(shared.filters);
    t.add(shared, [s!]);
    expect(t.routeByIds('d/1', [p!.id])).toEqual([plain]);
    expect(t.routeByIds('s/1/2', [s!.id])).toEqual([shared]);
    // The identifier's filter does not match the topic: not this Subscription's copy.
    expect(t.routeByIds('e/1', [p!.id])).toEqual([]);
    // A second owner of the filter: both get it, in subscription order.
    const again = entry('d/+');
    t.add(again, t.plan(again.filters));
    expect(t.routeByIds('d/1', [p!.id])).toEqual([plain, again]);
  });

  it('an identical filter in two entries is one broker subscription with two owners', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const a = entry('s/t');
    const b = entry('s/t');
    const pa = t.plan(a.filters);
    t.add(a, pa);
    const pb = t.plan(b.filters);
    t.add(b, pb);
    expect(t.routeByIds('s/t', [pb[0]?.id as number])).toEqual([a, b]);
    expect(t.routeByIds('s/t', [pa[0]?.id as number])).toEqual([a, b]);
    expect(t.current()).toEqual([{ id: pb[0]?.id, filters: ['s/t'] }]);
    expect(t.remove(a)).toEqual([]);
    expect(t.routeByIds('s/t', [pb[0]?.id as number])).toEqual([b]);
    expect(t.remove(b)).toEqual(['s/t']);
    expect(t.remove(b)).toEqual([]);
    // Nobody holds s/t any more: a late copy is acknowledged and dropped ('duplicate'), not held for nobody.
    expect(t.routeByIds('s/t', [pb[0]?.id as number])).toBe('duplicate');
  });

  it('a late copy for an unsubscribed filter is dropped, not held: only unknown identifiers mean a resumed session', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const kept = entry('load/+');
    t.add(kept, t.plan(kept.filters));
    const wider = entry('load/#');
    const [plan] = t.plan(wider.filters);
    t.add(wider, [plan!]);
    expect(t.remove(wider)).toEqual(['load/#']);
    // Delivered by the broker before it processed the UNSUBSCRIBE: its own copy of load/+ reaches `kept`.
    expect(t.routeByIds('load/1', [plan!.id])).toBe('duplicate');
    expect(t.routeByIds('load/1', [plan!.id + 1])).toEqual([]);
  });

  it('a plain filter wins over a shared one of the same entry', () => {
    expect(canonicalFilter(entry('$share/g/a/#', 'a/x'), 'a/x')).toBe('a/x');
    expect(canonicalFilter(entry('$share/g/a/#', 'a/x'), 'a/y')).toBe('$share/g/a/#');
    expect(canonicalFilter(entry('b/#'), 'a/y')).toBeUndefined();
  });

  it('routes by topic without identifiers', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const a = entry('a/#');
    const b = entry('b/+', 'a/x');
    t.add(a, t.plan(a.filters));
    t.add(b, t.plan(b.filters));
    expect(t.routeByTopic('a/x')).toEqual([a, b]);
    expect(t.routeByTopic('$SYS/a')).toEqual([]);
  });

  it('routes by topic among thousands of exact filters: each entry once, in the order added, removals forgotten', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const many = Array.from({ length: 5_000 }, (_, i) => entry(`dev/${i}/cmd`));
    const wild = entry('dev/+/cmd');
    const both = entry('dev/7/cmd', 'dev/#', '$share/g/dev/7/cmd');
    for (const e of [...many.slice(0, 7), wild, ...many.slice(7), both]) t.add(e, t.plan(e.filters));
    expect(t.routeByTopic('dev/7/cmd')).toEqual([wild, many[7], both]);
    expect(t.routeByTopic('dev/3/cmd')).toEqual([many[3], wild, both]);
    expect(t.routeByTopic('dev/4999/cmd')).toEqual([wild, many[4999], both]);
    expect(t.routeByTopic('dev/5000/cmd')).toEqual([wild, both]);
    expect(t.routeByTopic('dev/7')).toEqual([both]);
    t.remove(many[7] as { filters: string[] });
    t.remove(both);
    expect(t.routeByTopic('dev/7/cmd')).toEqual([wild]);
    t.clear();
    expect(t.routeByTopic('dev/1/cmd')).toEqual([]);
  });

  // One owner, identifier and filter is stored unwrapped, several in an array: these cover every change of form.
  it('three owners of one filter: any of them leaves, the others keep it, the last one gives it up', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const [a, b, c] = [entry('k/+'), entry('k/+'), entry('k/+')];
    const ids = [a, b, c].map((e) => {
      const plans = t.plan(e.filters);
      t.add(e, plans);
      return plans[0]?.id as number;
    });
    expect(t.routeByIds('k/1', [ids[2] as number])).toEqual([a, b, c]);
    expect(t.ownersOf('k/+')).toEqual([a, b, c]);
    expect(t.remove(b)).toEqual([]);
    expect(t.routeByIds('k/1', [ids[0] as number])).toEqual([a, c]);
    expect(t.remove(a)).toEqual([]);
    expect(t.ownersOf('k/+')).toEqual([c]);
    expect(t.routeByTopic('k/1')).toEqual([c]);
    expect(t.current()).toEqual([{ id: ids[2], filters: ['k/+'] }]);
    expect(t.remove(c)).toEqual(['k/+']);
    expect(t.ownersOf('k/+')).toEqual([]);
    expect(t.current()).toEqual([]);
    for (const id of ids) expect(t.routeByIds('k/1', [id])).toBe('duplicate');
  });

  it('one identifier for several disjoint filters: each routes, and it retires with its last filter', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const e = entry('x/1', 'y/+', 'z/#');
    const plans = t.plan(e.filters);
    t.add(e, plans);
    const id = plans[0]?.id as number;
    expect(plans).toHaveLength(1);
    expect(t.routeByIds('y/2', [id])).toEqual([e]);
    expect(t.routeByIds('z/a/b', [id])).toEqual([e]);
    expect(t.current()).toEqual([{ id, filters: ['x/1', 'y/+', 'z/#'] }]);
    const other = entry('x/1');
    t.add(other, t.plan(other.filters));
    expect(t.remove(e).sort()).toEqual(['y/+', 'z/#']);
    // x/1 is still held (by `other`, with its own identifier), so `id` still names it: not retired
    expect(t.routeByIds('x/1', [id])).toEqual([other]);
    expect(t.remove(other)).toEqual(['x/1']);
    expect(t.routeByIds('x/1', [id])).toBe('duplicate');
  });

  it('an exact filter held by two entries routes by topic to both until each leaves', () => {
    const t = new SubscriptionTable<{ filters: string[] }>();
    const a = entry('e/1');
    const b = entry('e/1', 'e/1');
    t.add(a, t.plan(a.filters));
    t.add(b, t.plan(b.filters));
    expect(t.routeByTopic('e/1')).toEqual([a, b]);
    expect(t.remove(a)).toEqual([]);
    expect(t.routeByTopic('e/1')).toEqual([b]);
    expect(t.remove(b)).toEqual(['e/1']);
    expect(t.routeByTopic('e/1')).toEqual([]);
  });
});
