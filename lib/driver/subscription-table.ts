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
  private readonly owners = new Map<string, E[]>();
  /** Identifiers a filter was subscribed with, oldest first; the last is the broker's current one. */
  private readonly idsOf = new Map<string, number[]>();
  // Arrays, not Sets: an identifier has one or a few filters, and a Set per Subscription cost ~150 bytes of heap.
  private readonly filtersOf = new Map<number, string[]>();
  /** Topic matching without identifiers: entries by exact (wildcard-free, unshared) filter... */
  private readonly byLiteral = new Map<string, E[]>();
  /** ...and the entries with any wildcard or shared filter, matched one by one. */
  private readonly withPatterns = new Set<E>();
  private added = 0;
  private nextId = 1;

  /** Splits filters into SUBSCRIBE packets whose filters do not overlap; each packet gets a fresh identifier. */
  plan(filters: readonly string[]): SubscribePlan[] {
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
        const list = this.byLiteral.get(f);
        if (!list) this.byLiteral.set(f, [entry]);
        else if (!list.includes(entry)) this.byLiteral.set(f, list.concat(entry));
      }
    }
    for (const p of plans) {
      for (const i of p.indexes) {
        const f = entry.filters[i] as string;
        // concat / one-element literals: exactly sized arrays (a spread grows one to 17 slots, ~150 bytes)
        const owners = this.owners.get(f);
        this.owners.set(f, owners ? owners.concat(entry) : [entry]);
        const ids = this.idsOf.get(f);
        this.idsOf.set(f, ids ? ids.concat(p.id) : [p.id]);
        const list = this.filtersOf.get(p.id);
        if (!list) this.filtersOf.set(p.id, [f]);
        else if (!list.includes(f)) this.filtersOf.set(p.id, list.concat(f));
      }
    }
  }

  /** Forgets an entry; returns the filters no other entry holds any more (to UNSUBSCRIBE). */
  remove(entry: E): string[] {
    if (!this.all.delete(entry)) return [];
    this.withPatterns.delete(entry);
    for (const f of entry.filters) {
      const list = this.byLiteral.get(f);
      const at = list?.indexOf(entry) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (list?.length === 0) this.byLiteral.delete(f);
    }
    const gone: string[] = [];
    for (const f of new Set(entry.filters)) {
      const rest = (this.owners.get(f) ?? []).filter((e) => e !== entry);
      if (rest.length > 0) {
        this.owners.set(f, rest);
        continue;
      }
      if (!this.owners.delete(f)) continue;
      gone.push(f);
      for (const id of this.idsOf.get(f) ?? []) {
        const list = this.filtersOf.get(id);
        const at = list?.indexOf(f) ?? -1;
        if (at >= 0) list!.splice(at, 1);
        if (list?.length === 0) this.filtersOf.delete(id);
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
      const id = ids[ids.length - 1] as number;
      byId.set(id, [...(byId.get(id) ?? []), f]);
    }
    return [...byId].map(([id, filters]) => ({ id, filters }));
  }

  /** Owners of a filter string, in subscription order (the last one subscribed it most recently). */
  ownersOf(filter: string): readonly E[] {
    return this.owners.get(filter) ?? [];
  }

  /**
   * Entries a PUBLISH carrying these identifiers is for. `[]`: none of the identifiers is known (a resumed
   * session's message); 'duplicate': a second copy for an overlapping filter, already delivered by another copy,
   * or a copy for subscriptions that were all unsubscribed (identifiers this table gave out and retired).
   */
  routeByIds(topic: string, ids: readonly number[]): E[] | 'duplicate' {
    const copyOf = new Set<string>();
    for (const id of ids) {
      for (const f of this.filtersOf.get(id) ?? []) if (topicMatches(f, topic)) copyOf.add(f);
    }
    // A broker may still deliver for a filter after the UNSUBSCRIBE (MQTT 5 3.10.4). Held as a resumed session's
    // message, it would never be acknowledged and, acks leaving in order, would stall every later acknowledgement.
    if (copyOf.size === 0) return ids.every((id) => this.isRetired(id)) ? 'duplicate' : [];
    const out = new Set<E>();
    for (const f of copyOf) {
      for (const e of this.owners.get(f) ?? []) if (copyOf.has(canonicalFilter(e, topic) as string)) out.add(e);
    }
    return out.size === 0 ? 'duplicate' : [...out];
  }

  /**
   * Entries whose filters match the topic (MQTT 3.1.1, or a broker without subscription identifiers): an exact
   * filter is a map lookup, so thousands of plain subscriptions do not make every message scan them all.
   */
  routeByTopic(topic: string): E[] {
    const exact = this.byLiteral.get(topic);
    const out: E[] = exact ? [...exact] : [];
    for (const e of this.withPatterns) {
      if (!exact?.includes(e) && e.filters.some((f) => topicMatches(f, topic))) out.push(e);
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
