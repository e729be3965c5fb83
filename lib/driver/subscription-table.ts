import { filtersOverlap, parseSharedFilter, topicMatches } from './topic.js';

/** One SUBSCRIBE packet to send: the filters (by index in the caller's list) that share one identifier. */
export interface SubscribePlan {
  id: number;
  indexes: number[];
}

/** What a table entry exposes: its filters in the order they were given to `subscribe()`. */
export interface TableEntry {
  readonly filters: readonly string[];
}

/**
 * Bookkeeping behind MQTT 5 subscription identifiers, shared by all Subscriptions of one client.
 *
 * The broker keeps one subscription per exact filter string and sends one PUBLISH per matching subscription,
 * each carrying that subscription's identifier. So: filters that share an identifier never overlap (a copy then
 * names exactly one filter); an identical filter in two Subscriptions is one broker subscription with several
 * owners; and each Subscription takes a message only from the copy of its canonical filter for that topic
 * (its first plain filter that matches, else its first shared one), so overlapping filters deliver once.
 */
export class SubscriptionTable<E extends TableEntry> {
  /** Every entry, with when it was added: matches are returned in that order. */
  private readonly all = new Map<E, number>();
  // The maps below hold one value as it is and several in an array (see `Some`).
  private readonly owners = new Map<string, Some<E>>();
  /** Identifiers a filter was subscribed with, oldest first; the last is the broker's current one. */
  private readonly idsOf = new Map<string, Some<number>>();
  private readonly filtersOf = new Map<number, Some<string>>();
  /** Topic matching without identifiers: entries by exact (wildcard-free, unshared) filter... */
  private readonly byLiteral = new Map<string, Some<E>>();
  /** ...and the entries with any wildcard or shared filter, matched one by one. */
  private readonly withPatterns = new Set<E>();
  private added = 0;
  private nextId = 1;

  /** Splits filters into SUBSCRIBE packets whose filters do not overlap; each packet gets a fresh identifier. */
  plan(filters: readonly string[]): SubscribePlan[] {
    if (filters.length === 1) return [{ id: this.nextId++, indexes: [0] }];
    const plans: SubscribePlan[] = [];
    filters.forEach((f, i) => {
      const fits = plans.find((p) => p.indexes.every((j) => !filtersOverlap(filters[j] as string, f)));
      if (fits) fits.indexes.push(i);
      else plans.push({ id: this.nextId++, indexes: [i] });
    });
    return plans;
  }

  /** Records an entry whose SUBSCRIBE packets (from `plan`) were granted. */
  add(entry: E, plans: readonly SubscribePlan[]): void {
    if (!this.all.has(entry)) this.all.set(entry, this.added++);
    for (const f of entry.filters) {
      if (!isLiteral(f)) this.withPatterns.add(entry);
      else {
        const exact = this.byLiteral.get(f);
        if (!has(exact, entry)) this.byLiteral.set(f, plus(exact, entry));
      }
    }
    for (const p of plans) {
      for (const i of p.indexes) {
        const f = entry.filters[i] as string;
        this.owners.set(f, plus(this.owners.get(f), entry));
        this.idsOf.set(f, plus(this.idsOf.get(f), p.id));
        const filters = this.filtersOf.get(p.id);
        if (!has(filters, f)) this.filtersOf.set(p.id, plus(filters, f));
      }
    }
  }

  /** Forgets an entry; returns the filters no other entry holds any more (to UNSUBSCRIBE). */
  remove(entry: E): string[] {
    if (!this.all.delete(entry)) return [];
    this.withPatterns.delete(entry);
    for (const f of entry.filters) {
      const exact = this.byLiteral.get(f);
      if (exact === undefined) continue;
      const rest = withoutOne(exact, entry);
      if (rest === undefined) this.byLiteral.delete(f);
      else this.byLiteral.set(f, rest);
    }
    const gone: string[] = [];
    for (const f of new Set(entry.filters)) {
      const owners = this.owners.get(f);
      if (owners === undefined) continue;
      const rest = withoutAll(owners, entry);
      if (rest !== undefined) {
        this.owners.set(f, rest);
        continue;
      }
      this.owners.delete(f);
      gone.push(f);
      for (const id of listOf(this.idsOf.get(f))) {
        const filters = this.filtersOf.get(id);
        const left = filters === undefined ? undefined : withoutOne(filters, f);
        if (left === undefined) this.filtersOf.delete(id);
        else this.filtersOf.set(id, left);
      }
      this.idsOf.delete(f);
    }
    return gone;
  }

  /** Every entry, each once. */
  entries(): E[] {
    return [...this.all.keys()];
  }

  /** The packets that re-create every broker subscription with its current identifier (session lost). */
  current(): { id: number; filters: string[] }[] {
    const byId = new Map<number, string[]>();
    for (const [f, ids] of this.idsOf) {
      const id = Array.isArray(ids) ? (ids[ids.length - 1] as number) : ids;
      byId.set(id, [...(byId.get(id) ?? []), f]);
    }
    return [...byId].map(([id, filters]) => ({ id, filters }));
  }

  /** Owners of a filter string, in subscription order (the last one subscribed it most recently). */
  ownersOf(filter: string): readonly E[] {
    return listOf(this.owners.get(filter));
  }

  /**
   * The common case of `routeByIds` without its sets: one identifier naming one filter that matches, held by one
   * Subscription of that single filter (then its canonical filter). Undefined for anything else, which the general
   * path decides.
   */
  private soleOwner(topic: string, ids: readonly number[]): E | undefined {
    if (ids.length !== 1) return undefined;
    const filter = this.filtersOf.get(ids[0] as number);
    if (typeof filter !== 'string' || !topicMatches(filter, topic)) return undefined;
    const owner = this.owners.get(filter);
    if (owner === undefined || Array.isArray(owner)) return undefined;
    return owner.filters.length === 1 && owner.filters[0] === filter ? owner : undefined;
  }

  /**
   * Entries a PUBLISH carrying these identifiers is for. `[]`: none of the identifiers is known (a resumed
   * session's message); 'duplicate': a second copy for an overlapping filter, already delivered by another copy,
   * or a copy for subscriptions that were all unsubscribed (identifiers this table gave out and retired).
   */
  routeByIds(topic: string, ids: readonly number[]): E[] | 'duplicate' {
    const one = this.soleOwner(topic, ids);
    if (one !== undefined) return [one];
    const copyOf = new Set<string>();
    for (const id of ids) {
      const filters = this.filtersOf.get(id);
      if (typeof filters === 'string') {
        if (topicMatches(filters, topic)) copyOf.add(filters);
      } else if (filters !== undefined) for (const f of filters) if (topicMatches(f, topic)) copyOf.add(f);
    }
    // A broker may still deliver for a filter after the UNSUBSCRIBE (MQTT 5 3.10.4). Held as a resumed session's
    // message, it would never be acknowledged and, acks leaving in order, would stall every later acknowledgement.
    if (copyOf.size === 0) return ids.every((id) => this.isRetired(id)) ? 'duplicate' : [];
    const out = new Set<E>();
    for (const f of copyOf) {
      const owners = this.owners.get(f);
      if (owners === undefined) continue;
      if (!Array.isArray(owners)) {
        if (copyOf.has(canonicalFilter(owners, topic) as string)) out.add(owners);
      } else for (const e of owners) if (copyOf.has(canonicalFilter(e, topic) as string)) out.add(e);
    }
    return out.size === 0 ? 'duplicate' : [...out];
  }

  /**
   * Entries whose filters match the topic (MQTT 3.1.1, or a broker without subscription identifiers): an exact
   * filter is a map lookup, so thousands of plain subscriptions do not make every message scan them all.
   */
  routeByTopic(topic: string): E[] {
    const exact = this.byLiteral.get(topic);
    const out: E[] = exact === undefined ? [] : Array.isArray(exact) ? [...exact] : [exact];
    for (const e of this.withPatterns) {
      if (!has(exact, e) && e.filters.some((f) => topicMatches(f, topic))) out.push(e);
    }
    if (out.length > 1) out.sort((x, y) => (this.all.get(x) as number) - (this.all.get(y) as number));
    return out;
  }

  /** An identifier this table gave out (they only grow) whose filters are all unsubscribed. */
  private isRetired(id: number): boolean {
    return id < this.nextId && !this.filtersOf.has(id);
  }

  clear(): void {
    this.all.clear();
    this.byLiteral.clear();
    this.withPatterns.clear();
    this.owners.clear();
    this.idsOf.clear();
    this.filtersOf.clear();
  }
}

/**
 * One value as it is, several in an array. Most filters have one owner and one identifier and most identifiers one
 * filter; a one-element array per map entry cost ~57 bytes of heap each (three to four per idle Subscription).
 * The values stored (entries, filter strings, identifiers) are never arrays themselves.
 */
type Some<T> = T | T[];

/** The values as a list (a new one-element array for a single value: for the paths that are not per message). */
function listOf<T>(v: Some<T> | undefined): readonly T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function has<T>(v: Some<T> | undefined, x: T): boolean {
  return Array.isArray(v) ? v.includes(x) : v === x;
}

/** `v` with `x` appended (a new array: arrays stored here are not shared but are never mutated either). */
function plus<T>(v: Some<T> | undefined, x: T): Some<T> {
  return v === undefined ? x : Array.isArray(v) ? v.concat(x) : [v, x];
}

/** `v` without its first `x`; undefined when nothing is left. */
function withoutOne<T>(v: Some<T>, x: T): Some<T> | undefined {
  if (!Array.isArray(v)) return v === x ? undefined : v;
  const at = v.indexOf(x);
  return at < 0 ? v : single(v.slice(0, at).concat(v.slice(at + 1)));
}

/** `v` without any `x`; undefined when nothing is left. */
function withoutAll<T>(v: Some<T>, x: T): Some<T> | undefined {
  if (!Array.isArray(v)) return v === x ? undefined : v;
  return single(v.filter((y) => y !== x));
}

function single<T>(list: T[]): Some<T> | undefined {
  return list.length === 0 ? undefined : list.length === 1 ? list[0] : list;
}

/** A filter that matches exactly one topic: no wildcard and no `$share/` group. */
function isLiteral(filter: string): boolean {
  return !filter.includes('+') && !filter.includes('#') && parseSharedFilter(filter).group === undefined;
}

/** The filter whose copy of a message an entry takes: its first plain match, else its first shared match. */
export function canonicalFilter(entry: TableEntry, topic: string): string | undefined {
  let shared: string | undefined;
  for (const f of entry.filters) {
    if (!topicMatches(f, topic)) continue;
    if (parseSharedFilter(f).group === undefined) return f;
    shared ??= f;
  }
  return shared;
}
