import type { PublishProperties, QoS, SubscribeOptions } from '../driver/index.js';
import { canonicalFilter } from '../driver/subscription-table.js';
import type { MemoryClient } from './memory-client.js';

/** A PUBLISH as the broker holds it: what a client sent, before per-subscriber adjustments. */
export interface BrokerPublish {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Properties as published (always empty when the publisher spoke MQTT 3.1.1). */
  properties: PublishProperties;
  /** Client identifier of the publisher. */
  publisher: string;
}

/** A message a persistent session holds while its client is away (queued, or delivered and not acknowledged). */
export interface HeldMessage {
  publish: BrokerPublish;
  qos: QoS;
  retain: boolean;
  /** True when it was sent once already: it is resent with DUP. */
  dup: boolean;
}

/** A broker-side subscription: one per exact filter string per session, as a real broker keeps them. */
export interface SessionFilter {
  options: SubscribeOptions;
  /** MQTT 5 subscription identifier of the latest SUBSCRIBE of this filter (it replaces earlier ones). */
  identifier?: number;
  /** Driver-level Subscriptions of the connected client that hold this filter. */
  owners: number;
}

/**
 * The broker's state for one client identifier. It outlives its client when the session is persistent
 * (3.1.1: clean session off; MQTT 5: Session Expiry Interval > 0) and is then resumed by the next client
 * that connects with the same identifier and Clean Start off.
 */
export class Session {
  client: MemoryClient | undefined;
  readonly filters = new Map<string, SessionFilter>();
  /** Messages for a persistent session whose client is away, in order. */
  readonly held: HeldMessage[] = [];
  persistent = false;

  constructor(
    readonly clientId: string,
    public protocolVersion: 4 | 5,
  ) {}

  /** Records a SUBSCRIBE of `filter` (a repeat replaces options and identifier); true when it existed already. */
  addFilter(filter: string, options: SubscribeOptions, identifier: number | undefined): boolean {
    const existing = this.filters.get(filter);
    const entry: SessionFilter = { options, owners: (existing?.owners ?? 0) + 1 };
    if (identifier !== undefined) entry.identifier = identifier;
    this.filters.set(filter, entry);
    return existing !== undefined;
  }

  /** The identifier a PUBLISH for `sub` carries: that of the filter whose copy the driver keeps. */
  identifierFor(sub: { filters: readonly string[]; subscriptionIdentifier?: number }, topic: string) {
    const filter = canonicalFilter(sub, topic);
    return (filter === undefined ? undefined : this.filters.get(filter)?.identifier) ?? sub.subscriptionIdentifier;
  }

  /** Drops one owner of each filter; returns nothing (a real UNSUBSCRIBE is sent for filters left with none). */
  removeFilters(filters: readonly string[]): void {
    for (const f of filters) {
      const entry = this.filters.get(f);
      if (!entry) continue;
      entry.owners--;
      if (entry.owners <= 0) this.filters.delete(f);
    }
  }
}
