import type {
  ConnackProperties,
  ProtocolVersion,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
} from './codec/packets.js';
import { MqttDisconnectedError, MqttMessageDroppedError, MqttProtocolError, MqttSubscribeError } from './errors.js';
import { InboundMessage } from './message.js';
import { CLIENT_DEFAULTS, type ResolvedClientOptions } from './options.js';
import { printable } from './printable.js';
import type { PacketIds } from './session/packet-ids.js';
import { MessageSubscription } from './subscription.js';
import { type SubscribePlan, SubscriptionTable } from './subscription-table.js';
import { parseSharedFilter, topicMatches, validateTopicFilter } from './topic.js';
import type { ClientStatus, MqttMessage, SubscribeOptions, Subscription } from './types.js';

/**
 * A Subscription as the router keeps it, and its own table entry: with the options a re-SUBSCRIBE uses. One object
 * per idle Subscription, no entry record and unsubscribe closure beside it (gateways hold thousands).
 */
class RoutedSubscription extends MessageSubscription {
  constructor(
    filters: string[],
    /** @internal */ readonly options: SubscribeOptions,
    subscriptionIdentifier: number | undefined,
    onUnsubscribe: (s: MessageSubscription) => Promise<void>,
  ) {
    super(
      filters,
      options.bufferSize ?? 1000,
      subscriptionIdentifier,
      onUnsubscribe,
      // one shared function, not a closure per Subscription
      (options.ack ?? 'auto') === 'auto' ? ackOnRead : ackManually,
    );
  }
}
type Entry = RoutedSubscription;
type Settle = ((code: number) => void) | undefined;
interface Waiter {
  resolve: (p: SubackPacket | UnsubackPacket) => void;
  reject: (e: Error) => void;
}

/** What the MessageRouter needs of its client: the connection's state, a way to write, and where to report errors. */
export interface MessageRouterHost {
  readonly protocolVersion: ProtocolVersion;
  readonly serverProperties: ConnackProperties | undefined;
  readonly status: ClientStatus;
  /** Writes a packet when connected; false when offline. */
  send(packet: SubscribePacket | UnsubscribePacket): boolean;
  /** Reports a problem that ends no operation (the client's 'error' event). */
  fail(error: Error): void;
}

/**
 * Routes each inbound PUBLISH to exactly the Subscriptions it matched, once each: by subscription identifier
 * on MQTT 5 (see `SubscriptionTable`), by topic matching on 3.1.1. A PUBLISH nobody matches (resumed session)
 * is held unacknowledged in a bounded buffer and handed to the first Subscription created that matches it.
 */
export class MessageRouter {
  private readonly table = new SubscriptionTable<Entry>();
  private readonly waiters = new Map<number, Waiter>();
  private readonly unrouted: { packet: PublishPacket; settle: Settle }[] = [];
  /** What every Subscription of this router calls on `unsubscribe()`: one function, not one per Subscription. */
  private readonly onUnsubscribe = (s: MessageSubscription): Promise<void> => this.unsubscribe(s as Entry);

  /**
   * `ids` are the client's packet identifiers, shared with outgoing publishes (one id space per session); `limits`
   * bound the messages held for no Subscription.
   */
  constructor(
    private readonly client: MessageRouterHost,
    private readonly ids: PacketIds,
    private readonly limits: Pick<
      ResolvedClientOptions,
      'unroutedBufferSize' | 'receiveMaximum' | 'receiveMaximumTolerance'
    >,
  ) {}

  private get useIds(): boolean {
    return this.client.protocolVersion === 5 && this.client.serverProperties?.subscriptionIdentifierAvailable !== false;
  }

  async subscribe(filters: string[], options: SubscribeOptions): Promise<Subscription> {
    if (filters.length === 0) throw new MqttSubscribeError('subscribe() needs at least one filter', []);
    for (const f of filters) validateTopicFilter(f);
    const useIds = this.useIds;
    const plans = useIds ? this.table.plan(filters) : [{ id: 0, indexes: filters.map((_, i) => i) }];
    const entry = new RoutedSubscription(filters, options, useIds ? plans[0]?.id : undefined, this.onUnsubscribe);
    // Routed to from the moment its SUBSCRIBE is written: a broker may send matching PUBLISHes (retained ones)
    // before the SUBACK (3.8.4), without identifiers (3.1.1) or with an identifier an older Subscription of the
    // same filter had; the table then matches it like any other Subscription, so it gets each message once.
    this.table.add(entry, plans);
    try {
      // One packet (most Subscriptions): its SUBACK's codes are the granted ones, in order, with no per-plan work.
      entry.granted =
        plans.length === 1
          ? grantedOf(
              await this.roundTrip(this.subscribePacket(filters, options, (plans[0] as SubscribePlan).id)),
              filters.length,
            )
          : await this.sendPlans(entry, plans);
    } catch (err) {
      this.abandon(entry);
      throw err;
    }
    if (entry.granted.some((c) => c >= 0x80)) {
      this.unsubscribeGranted(entry, this.abandon(entry));
      throw new MqttSubscribeError(`Broker refused subscription to ${filters.join(', ')}`, entry.granted);
    }
    this.drainUnrouted(entry);
    return entry;
  }

  /**
   * A SUBSCRIBE that failed (refused, or the link was lost before SUBACK): the application never gets the
   * Subscription, so what was routed to it before the SUBACK is acknowledged and dropped. Returns the filters no
   * other Subscription holds.
   */
  private abandon(entry: Entry): string[] {
    const gone = this.table.remove(entry);
    entry.discard();
    return gone;
  }

  /**
   * A partly refused SUBSCRIBE: the filters the broker did grant would go on delivering to nobody (held, then
   * cut at the unrouted bound), so they are unsubscribed; a failure other than the link going is reported on 'error'.
   */
  private unsubscribeGranted(entry: Entry, gone: readonly string[]): void {
    const granted = gone.filter((f) => (entry.granted[entry.filters.indexOf(f)] ?? 0x80) < 0x80);
    if (granted.length === 0 || this.client.status !== 'connected') return;
    const packet = {
      type: 'unsubscribe' as const,
      packetId: this.ids.allocate(),
      topicFilters: granted,
    };
    this.roundTrip(packet).catch((err: Error) => {
      if (!(err instanceof MqttDisconnectedError)) this.client.fail(err);
    });
  }

  /**
   * Sends a SUBSCRIBE or UNSUBSCRIBE and resolves with its SUBACK/UNSUBACK; rejects when the link is or goes down.
   * The packet id is released where the waiter is settled (`onAck`, `onConnectionLost`).
   */
  private roundTrip(packet: SubscribePacket | UnsubscribePacket): Promise<SubackPacket | UnsubackPacket> {
    return new Promise((resolve, reject) => {
      this.waiters.set(packet.packetId, { resolve, reject });
      if (!this.client.send(packet)) {
        this.waiters.delete(packet.packetId);
        this.ids.release(packet.packetId);
        reject(new MqttDisconnectedError('Not connected: retry when the client is connected'));
      }
    });
  }

  /** Sends the planned SUBSCRIBE packets (overlapping filters); the granted codes in the order of the entry's filters. */
  private async sendPlans(entry: Entry, plans: SubscribePlan[]): Promise<number[]> {
    // sized up front: an array grown by index assignment keeps 17 slots (this one lives as long as the Subscription)
    const granted = new Array<number>(entry.filters.length).fill(0x80);
    await Promise.all(
      plans.map(async (p) => {
        const filters = p.indexes.map((i) => entry.filters[i] as string);
        const codes = (await this.roundTrip(this.subscribePacket(filters, entry.options, p.id))) as SubackPacket;
        p.indexes.forEach((i, k) => {
          granted[i] = codes.reasonCodes[k] ?? 0x80;
        });
      }),
    );
    return granted;
  }

  /** A SUBSCRIBE of `filters` with identifier `id` (MQTT 5 with identifiers), taking a fresh packet id. */
  private subscribePacket(filters: readonly string[], o: SubscribeOptions, id: number): SubscribePacket {
    const subscriptions = filters.map((topicFilter) => ({
      topicFilter,
      qos: o.qos ?? 0,
      noLocal: o.noLocal,
      retainAsPublished: o.retainAsPublished,
      retainHandling: o.retainHandling,
    }));
    let properties: SubscribePacket['properties'];
    if (this.client.protocolVersion === 5) {
      properties = this.useIds ? { subscriptionIdentifier: id } : {};
      if (o.userProperties) properties.userProperties = o.userProperties;
    }
    return { type: 'subscribe', packetId: this.ids.allocate(), subscriptions, properties };
  }

  /** UNSUBSCRIBEs only the filters no other Subscription of this client still holds. */
  private async unsubscribe(entry: Entry): Promise<void> {
    const gone = this.table.remove(entry);
    if (gone.length === 0 || this.client.status !== 'connected') return;
    await this.roundTrip({ type: 'unsubscribe', packetId: this.ids.allocate(), topicFilters: gone });
  }

  onAck(packet: SubackPacket | UnsubackPacket): void {
    const w = this.waiters.get(packet.packetId);
    if (!w) {
      // Only we choose these ids and each is answered once: a stray one means the session state is out of step.
      throw new MqttProtocolError(`${packet.type.toUpperCase()} for packet id ${packet.packetId} we did not use`, 0x82);
    }
    this.waiters.delete(packet.packetId);
    this.ids.release(packet.packetId);
    w.resolve(packet);
  }

  /** Delivers a PUBLISH; `track(holders)` registers the ack that `holders` consumers must settle. */
  route(packet: PublishPacket, track: (holders: number) => Settle): void {
    const matched = this.match(packet);
    if (matched === 'duplicate') {
      track(1)?.(0);
      return;
    }
    if (matched.length === 0) {
      this.hold(packet, track);
      return;
    }
    const settle = track(matched.length);
    for (const e of matched) this.deliver(e, packet, settle);
  }

  /**
   * A PUBLISH no Subscription matches (yet): a resumed session's messages arrive before the application
   * subscribes again. QoS 0 beyond `unroutedBufferSize` is dropped. QoS 1/2 are held unacknowledged, at most
   * `receiveMaximum + receiveMaximumTolerance` in all — counted across reconnects: a per-connection count let a
   * malicious broker pile up 461,274 over 4 reconnects (826 MB); one more is a 0x93 protocol error.
   */
  private hold(packet: PublishPacket, track: (holders: number) => Settle): void {
    const o = this.limits;
    if (packet.qos === 0) {
      if (this.heldQos0 >= o.unroutedBufferSize) {
        this.client.fail(
          new MqttMessageDroppedError(
            `QoS 0 message on ${printable(packet.topic)} matched no subscription yet and was dropped`,
          ),
        );
        return;
      }
      this.heldQos0++;
    } else {
      const max = (o.receiveMaximum ?? CLIENT_DEFAULTS.receiveMaximum) + o.receiveMaximumTolerance;
      if (this.unrouted.length - this.heldQos0 >= max) {
        throw new MqttProtocolError(
          `More than ${max} QoS 1/2 messages held for no subscription (receiveMaximum + receiveMaximumTolerance)`,
          0x93,
        );
      }
    }
    this.unrouted.push({ packet, settle: track(1) });
  }

  private heldQos0 = 0;

  /** The session is gone: its held messages are void (their acks mean nothing to the new session). */
  private dropHeld(): void {
    const n = this.unrouted.length;
    if (n === 0) return;
    this.unrouted.length = 0;
    this.heldQos0 = 0;
    this.client.fail(
      new MqttMessageDroppedError(
        `${n} message(s) held for no subscription dropped: the broker did not resume the session`,
        n,
      ),
    );
  }

  private deliver(e: Entry, packet: PublishPacket, settle: Settle): void {
    const msg = new InboundMessage(packet, settle, this.client.protocolVersion);
    if (!e.push(msg)) {
      settle?.(0);
      if (packet.qos === 0)
        this.client.fail(
          new MqttMessageDroppedError(`Subscription buffer full: QoS 0 message on ${printable(packet.topic)} dropped`),
        );
    }
  }

  /** The entries a PUBLISH is for, or 'duplicate' for a second copy of a message already delivered. */
  private match(packet: PublishPacket): Entry[] | 'duplicate' {
    const ids = packet.properties?.subscriptionIdentifier;
    if (this.useIds && ids && ids.length > 0) return this.table.routeByIds(packet.topic, ids);
    return this.table.routeByTopic(packet.topic);
  }

  private drainUnrouted(entry: Entry): void {
    if (this.unrouted.length === 0) return; // nothing held (nearly always): no arrays made per subscribe()
    // One pass (splicing each match out was quadratic in the number held).
    const held = this.unrouted.splice(0);
    this.heldQos0 = 0;
    const front: InboundMessage[] = [];
    for (const u of held) {
      if (entry.filters.some((f) => topicMatches(f, u.packet.topic)))
        front.push(new InboundMessage(u.packet, u.settle, this.client.protocolVersion));
      else {
        this.unrouted.push(u);
        if (u.packet.qos === 0) this.heldQos0++;
      }
    }
    // Held messages arrived before the SUBSCRIBE went out: they go before what was routed to it since.
    entry.pushFront(front);
  }

  /** Held messages stay: their entries are carried over, and the broker's DUP resends bind to them. */
  onConnectionLost(): void {
    for (const [id, w] of this.waiters) {
      this.waiters.delete(id);
      this.ids.release(id);
      w.reject(new MqttDisconnectedError('Connection lost before SUBACK/UNSUBACK; retry'));
    }
  }

  /** Re-makes every subscription when the broker lost the session. */
  onConnected(sessionPresent: boolean): void {
    // A session the broker created on a previous connection whose re-SUBSCRIBEs never completed (cut first) is
    // "present" but lacks our subscriptions: re-make them all until one round of re-SUBSCRIBEs succeeded.
    if (!sessionPresent) this.dropHeld();
    const lost = !sessionPresent || this.resubscribing;
    const sent: Promise<boolean>[] = [];
    for (const { id, filters } of this.table.current()) {
      // Shared filters are re-made even on a resumed session: mosquitto 2.0 restores a persisted session after a
      // restart WITHOUT its shared subscriptions (the group member went deaf). Re-subscribing a shared filter has
      // no side effect: shared subscriptions never get retained messages (4.8.2).
      const resend = lost ? filters : filters.filter((f) => parseSharedFilter(f).group !== undefined);
      if (resend.length === 0) continue;
      const options = this.table.ownersOf(resend[0] as string).at(-1)?.options ?? {};
      sent.push(this.resubscribe(resend, options, id));
    }
    if (!lost) return;
    this.resubscribing = true;
    void Promise.all(sent).then((done) => {
      if (done.every(Boolean)) this.resubscribing = false;
    });
  }

  private resubscribing = false;

  /** One re-SUBSCRIBE after a reconnect: false (reported on 'error') when it failed. */
  private async resubscribe(filters: string[], options: SubscribeOptions, id: number): Promise<boolean> {
    try {
      await this.roundTrip(this.subscribePacket(filters, options, id));
      return true;
    } catch (err) {
      this.client.fail(err as Error);
      return false;
    }
  }

  closeAll(): void {
    this.onConnectionLost();
    this.unrouted.length = 0;
    this.heldQos0 = 0;
    for (const e of this.table.entries()) e.end();
    this.table.clear();
  }
}

/** Reads a message for a Subscription with `ack: 'auto'`: acknowledged as it is read. */
function ackOnRead(m: MqttMessage): void {
  void (m as InboundMessage).ack();
}

/** `ack: 'manual'`: the application acknowledges. */
function ackManually(): void {}

/** A one-filter Subscription granted QoS 0, 1 or 2: one shared array each (most Subscriptions are one of these). */
const GRANTED_ONE: readonly (readonly number[])[] = [Object.freeze([0]), Object.freeze([1]), Object.freeze([2])];

/**
 * The codes a one-packet Subscription was granted: the SUBACK's, in the order of its filters; a filter the SUBACK
 * has no code for is refused (0x80). Not the decoder's array (it grew by push to 17 slots): a shared one for a
 * single granted QoS, else an exactly sized copy; it lives as long as the Subscription.
 */
function grantedOf(ack: SubackPacket | UnsubackPacket, filters: number): readonly number[] {
  const codes = ack.reasonCodes;
  if (filters === 1) return GRANTED_ONE[codes[0] ?? 0x80] ?? [codes[0] ?? 0x80];
  const granted = new Array<number>(filters).fill(0x80);
  for (let i = 0; i < filters; i++) granted[i] = codes[i] ?? 0x80;
  return granted;
}
