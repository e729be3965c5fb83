import { parseSharedFilter, topicMatches } from '../../lib/driver/index.js';

const MEMORY = 10_000;

interface Group {
  readonly group: string;
  readonly filter: string;
  readonly members: object[];
  next: number;
}

/**
 * `$share/<group>/<filter>` semantics for a broker that has none: the connection subscribes the plain filter, and
 * {@link SharedGroups.allow} lets exactly one member of each matching group take each message (round robin).
 * Connections are the keys, so it works before the broker knows the client id.
 */
export class SharedGroups {
  private readonly groups = new Map<string, Group>();
  private readonly byMember = new Map<object, Set<Group>>();
  /**
   * The member chosen per published message and group, so every member's check agrees. The broker hands each
   * subscriber its own copy of a message, so messages are told apart by a key (aedes: brokerId + brokerCounter).
   * Bounded: only the latest {@link MEMORY} messages are remembered.
   */
  private readonly chosen = new Map<string, Map<Group, object>>();

  /** Records `member` in the group of a shared filter; returns the plain filter to subscribe instead. */
  join(member: object, sharedFilter: string): string {
    const { group, filter } = parseSharedFilter(sharedFilter);
    if (group === undefined) return sharedFilter;
    const key = `${group}\u0000${filter}`;
    let entry = this.groups.get(key);
    if (!entry) {
      entry = { group, filter, members: [], next: 0 };
      this.groups.set(key, entry);
    }
    if (!entry.members.includes(member)) entry.members.push(member);
    let mine = this.byMember.get(member);
    if (!mine) {
      mine = new Set();
      this.byMember.set(member, mine);
    }
    mine.add(entry);
    return filter;
  }

  /** Removes `member` from the group of a shared filter; returns the plain filter to unsubscribe instead. */
  leave(member: object, sharedFilter: string): string {
    const { group, filter } = parseSharedFilter(sharedFilter);
    if (group === undefined) return sharedFilter;
    const entry = this.groups.get(`${group}\u0000${filter}`);
    if (entry) this.remove(member, entry);
    return filter;
  }

  /** Forgets a closed connection. */
  drop(member: object): void {
    for (const entry of this.byMember.get(member) ?? []) this.remove(member, entry);
    this.byMember.delete(member);
  }

  /** May `member` receive `packet`? False when the packet reaches it only through groups that chose another member. */
  allow(member: object, packet: { topic: string }, messageKey: string): boolean {
    const mine = this.byMember.get(member);
    if (!mine || mine.size === 0) return true;
    let matched = false;
    for (const entry of mine) {
      if (!topicMatches(entry.filter, packet.topic)) continue;
      matched = true;
      if (this.choose(entry, messageKey) === member) return true;
    }
    return !matched;
  }

  private choose(entry: Group, messageKey: string): object | undefined {
    let picks = this.chosen.get(messageKey);
    if (!picks) {
      picks = new Map();
      this.chosen.set(messageKey, picks);
      if (this.chosen.size > MEMORY) this.chosen.delete(this.chosen.keys().next().value as string);
    }
    let pick = picks.get(entry);
    if (pick === undefined && entry.members.length > 0) {
      pick = entry.members[entry.next % entry.members.length] as object;
      entry.next = (entry.next + 1) % entry.members.length;
      picks.set(entry, pick);
    }
    return pick;
  }

  private remove(member: object, entry: Group): void {
    const i = entry.members.indexOf(member);
    if (i >= 0) entry.members.splice(i, 1);
    this.byMember.get(member)?.delete(entry);
    if (entry.members.length === 0) this.groups.delete(`${entry.group}\u0000${entry.filter}`);
  }
}
