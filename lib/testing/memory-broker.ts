import { randomUUID } from 'node:crypto';
import {
  type MqttClientOptions,
  MqttConnectError,
  type PublishProperties,
  parseSharedFilter,
  type QoS,
  type SubscribeOptions,
  topicMatches,
} from '../driver/index.js';
import { DeliveryLog, mostSpecificFilter } from './deliveries.js';
import { MemoryClient } from './memory-client.js';
import { type Delivery, MemoryMessage } from './memory-message.js';
import type { MemorySubscription } from './memory-subscription.js';
import { type BrokerPublish, Session } from './session.js';

/** Hooks the test broker facade listens on. */
export interface BrokerObserver {
  /** Every PUBLISH the broker accepted, in order. */
  published?(publish: BrokerPublish): void;
  /** A delivery to a Subscription of a client created with `track: true`. */
  delivered?(client: MemoryClient, message: MemoryMessage): void;
  /** The client went away; its undelivered and unhandled messages will never be handled. */
  clientClosed?(client: MemoryClient): void;
}

export interface MemoryConnectOptions extends MqttClientOptions {
  /** Report deliveries of this client to `BrokerObserver.delivered` (used for `publish()` settling). */
  track?: boolean;
}

const minQos = (a: QoS, b: QoS): QoS => (a < b ? a : b);

/**
 * The in-memory MQTT broker behind `MqttAsyncTestBroker`: sessions, subscriptions, `$share` groups (round
 * robin), retained messages, QoS downgrade, no-local, retain-as-published, MQTT 5 properties, and 3.1.1
 * rules for 3.1.1 clients. Everything happens synchronously inside the calls: no sockets, no timers.
 */
export class MemoryBroker {
  private readonly sessions = new Map<string, Session>();
  private readonly retained = new Map<string, BrokerPublish>();
  /** Per shared filter: member client ids, next in line first. */
  private readonly rotations = new Map<string, string[]>();
  private readonly deliveries = new DeliveryLog();
  private closed = false;
  /** Packet identifiers of QoS 1/2 deliveries (1..65535, cycling), as a broker would number them. */
  private lastPacketId = 0;

  constructor(
    readonly protocolVersion: 4 | 5,
    private readonly observer: BrokerObserver = {},
    /** QoS 1/2 messages kept for an absent persistent session; more are dropped (mosquitto's default: 1000). */
    private readonly maxQueuedMessages = 1000,
  ) {}

  /** Connects a client, as CONNECT/CONNACK would. */
  connect(options: MemoryConnectOptions = {}): MemoryClient {
    if (this.closed) throw new MqttConnectError('The in-memory test broker is closed: create a new one');
    const version = options.protocolVersion ?? 5;
    if (version === 5 && this.protocolVersion === 4) {
      throw new MqttConnectError(
        'The broker speaks MQTT 3.1.1 only: connect with protocolVersion 4 (CONNACK: unacceptable protocol version)',
        { reasonCode: 0x84 },
      );
    }
    const cleanStart = options.cleanStart ?? true;
    let clientId = options.clientId ?? '';
    const assigned = clientId === '';
    if (assigned && !cleanStart && version === 4) {
      throw new MqttConnectError('MQTT 3.1.1 needs a client identifier when clean session is off', {
        reasonCode: 0x85,
      });
    }
    if (assigned) clientId = `memory-${randomUUID()}`;
    const previous = this.sessions.get(clientId);
    if (previous?.client) this.takeOver(previous.client);
    const resume = !cleanStart && previous !== undefined && previous.persistent;
    const session = resume && previous ? previous : new Session(clientId, version);
    session.protocolVersion = version;
    session.persistent = version === 4 ? !cleanStart : (options.sessionExpiryInterval ?? 0) > 0;
    if (!resume) this.dropSessionDeliveries(clientId);
    this.sessions.set(clientId, session);
    const client = new MemoryClient(this, session, options, {
      sessionPresent: resume,
      assignedClientIdentifier: assigned && version === 5 ? clientId : undefined,
      reportedClientId: assigned && version === 4 ? '' : clientId,
    });
    session.client = client;
    options.beforeConnect?.(client);
    if (resume) this.resumeHeld(session, client);
    return client;
  }

  private takeOver(old: MemoryClient): void {
    old.serverDisconnect(0x8e, 'Another client connected with the same client identifier (session taken over)');
  }

  private resumeHeld(session: Session, client: MemoryClient): void {
    for (const h of session.held.splice(0)) {
      client.hold(this.makeMessage(session, client, h.publish, h.qos, h.retain, h.dup, undefined));
    }
  }

  /** Called by a client when it goes away (DISCONNECT, take-over or broker close). */
  detach(client: MemoryClient, sessionExpiryInterval: number | undefined, unread: MemoryMessage[]): void {
    const session = client.session;
    if (session.client !== client) return;
    session.client = undefined;
    if (sessionExpiryInterval !== undefined && session.protocolVersion === 5) {
      session.persistent = sessionExpiryInterval > 0;
    }
    const open = this.deliveries.remove((d) => d.client === client);
    if (session.persistent) {
      for (const f of session.filters.values()) f.owners = 0;
      // One PUBLISH handed to several Subscriptions (3.1.1) is one message to resend.
      const seen = new Set<BrokerPublish>();
      for (const m of [...open.map((d) => d.message), ...unread]) {
        if (m.qos === 0 || seen.has(m.source)) continue;
        seen.add(m.source);
        session.held.push({ publish: m.source, qos: m.qos, retain: m.retain, dup: true });
      }
    } else {
      this.sessions.delete(session.clientId);
    }
    this.observer.clientClosed?.(client);
  }

  private dropSessionDeliveries(clientId: string): void {
    this.deliveries.remove((d) => d.clientId === clientId);
  }

  /** Records a new Subscription's filters; delivers retained messages per Retain Handling. */
  subscribe(client: MemoryClient, sub: MemorySubscription): void {
    const session = client.session;
    const v5 = session.protocolVersion === 5;
    const retainHandling = v5 ? (sub.options.retainHandling ?? 0) : 0;
    const sendRetained: string[] = [];
    for (const filter of sub.filters) {
      const existed = session.addFilter(filter, sub.options, sub.identifiers.get(filter));
      // Shared filters get retained messages too, as mosquitto (the reference broker) sends them.
      if (retainHandling === 0 || (retainHandling === 1 && !existed)) sendRetained.push(filter);
    }
    client.drainHeld(sub);
    if (sendRetained.length === 0) return;
    for (const message of this.retained.values()) {
      if (!sendRetained.some((f) => topicMatches(f, message.topic))) continue;
      const qos = minQos(message.qos, sub.options.qos ?? 0);
      this.push(client, sub, this.makeMessage(session, client, message, qos, true, false, sub));
    }
  }

  unsubscribe(client: MemoryClient, sub: MemorySubscription): void {
    client.session.removeFilters(sub.filters);
  }

  /** Accepts a PUBLISH (from `publish.publisher`); returns how many subscriptions it was sent to. */
  publish(publish: BrokerPublish): number {
    this.observer.published?.(publish);
    if (publish.retain) {
      if (publish.payload.length === 0) this.retained.delete(publish.topic);
      else this.retained.set(publish.topic, publish);
    }
    let count = 0;
    for (const session of this.sessions.values()) count += this.routePlain(session, publish);
    count += this.routeShared(publish);
    return count;
  }

  private routePlain(session: Session, publish: BrokerPublish): number {
    const matching = [...session.filters.entries()].filter(
      ([f, e]) => parseSharedFilter(f).group === undefined && this.accepts(session, f, e.options, publish),
    );
    if (matching.length === 0) return 0;
    const client = session.client;
    if (!client) {
      this.holdOffline(
        session,
        publish,
        matching.map(([, e]) => e.options),
      );
      return matching.length;
    }
    const plain = new Set(matching.map(([f]) => f));
    const subs = client.liveSubscriptions().filter((s) => s.filters.some((f) => plain.has(f)));
    if (subs.length === 0) {
      const qos = minQos(publish.qos, Math.max(...matching.map(([, e]) => e.options.qos ?? 0)) as QoS);
      client.hold(
        this.makeMessage(
          session,
          client,
          publish,
          qos,
          this.retainFlag(session, matching[0]![1].options, publish),
          false,
          undefined,
        ),
      );
    }
    if (session.protocolVersion === 4)
      this.deliverOnce(
        client,
        subs,
        publish,
        matching.map(([f]) => f),
      );
    else for (const sub of subs) this.deliver(client, sub, publish);
    return matching.length;
  }

  /** MQTT 3.1.1 (as mosquitto does it): one PUBLISH per client, handed to each matching Subscription. */
  private deliverOnce(client: MemoryClient, subs: MemorySubscription[], publish: BrokerPublish, filters: string[]) {
    const options = client.session.filters.get(mostSpecificFilter(filters))?.options ?? {};
    const qos = minQos(publish.qos, options.qos ?? 0);
    const messages = subs.map((sub) =>
      this.makeMessage(client.session, client, publish, qos, false, false, sub, false),
    );
    this.deliveries.track(client, messages);
    for (let i = 0; i < subs.length; i++) this.push(client, subs[i]!, messages[i]!);
  }

  private routeShared(publish: BrokerPublish): number {
    const groups = new Map<string, Array<{ session: Session; filter: string }>>();
    for (const session of this.sessions.values()) {
      if (!session.client) continue;
      for (const [f, e] of session.filters) {
        if (parseSharedFilter(f).group === undefined || !this.accepts(session, f, e.options, publish)) continue;
        const members = groups.get(f) ?? [];
        members.push({ session, filter: f });
        groups.set(f, members);
      }
    }
    for (const [key, members] of groups) {
      const { session, filter } = this.nextInLine(key, members);
      const client = session.client!;
      const sub = client.liveSubscriptions().find((s) => s.filters.includes(filter));
      if (sub) this.deliver(client, sub, publish);
      else client.hold(this.makeMessage(session, client, publish, publish.qos, false, false, undefined));
    }
    return groups.size;
  }

  /**
   * Round robin that survives membership changes (as mosquitto rotates its list): members that left drop out,
   * new ones join at the end, and the one served moves to the end, so nobody is served twice while others wait.
   */
  private nextInLine<T extends { session: Session }>(key: string, members: T[]): T {
    const byId = new Map(members.map((m) => [m.session.clientId, m]));
    const rotation = (this.rotations.get(key) ?? []).filter((id) => byId.has(id));
    for (const id of byId.keys()) if (!rotation.includes(id)) rotation.push(id);
    const first = rotation.shift()!;
    rotation.push(first);
    this.rotations.set(key, rotation);
    return byId.get(first)!;
  }

  private accepts(session: Session, filter: string, options: SubscribeOptions, publish: BrokerPublish): boolean {
    if (!topicMatches(filter, publish.topic)) return false;
    return !(session.protocolVersion === 5 && options.noLocal && publish.publisher === session.clientId);
  }

  private retainFlag(session: Session, options: SubscribeOptions, publish: BrokerPublish): boolean {
    return session.protocolVersion === 5 && options.retainAsPublished === true && publish.retain;
  }

  private holdOffline(session: Session, publish: BrokerPublish, options: SubscribeOptions[]): void {
    const qos = minQos(publish.qos, Math.max(...options.map((o) => o.qos ?? 0)) as QoS);
    if (qos === 0 || session.held.length >= this.maxQueuedMessages) return;
    const retain = options.some((o) => this.retainFlag(session, o, publish));
    session.held.push({ publish, qos, retain, dup: false });
  }

  private deliver(client: MemoryClient, sub: MemorySubscription, publish: BrokerPublish): void {
    const qos = minQos(publish.qos, sub.options.qos ?? 0);
    const retain = this.retainFlag(client.session, sub.options, publish);
    this.push(client, sub, this.makeMessage(client.session, client, publish, qos, retain, false, sub));
  }

  /** Hands a message to a Subscription and tracks it when the client is observed. */
  push(client: MemoryClient, sub: MemorySubscription, message: MemoryMessage): void {
    if (!sub.push(message)) {
      message.discard();
      client.emitError(`Subscription buffer full: QoS 0 message on ${message.topic} dropped`);
      return;
    }
    // Only handler subscriptions (the server subscribes them with manual acks) are waited for by settling; an
    // auto-acked one (request replies, the health indicator's responder) has no handler to report it handled.
    if (client.tracked && sub.options.ack === 'manual') this.observer.delivered?.(client, message);
  }

  /** Builds the message a subscriber receives; QoS 1/2 ones are tracked until acknowledged. */
  makeMessage(
    session: Session,
    client: MemoryClient,
    publish: BrokerPublish,
    qos: QoS,
    retain: boolean,
    dup: boolean,
    sub: MemorySubscription | undefined,
    track = true,
  ): MemoryMessage {
    const properties: PublishProperties = {};
    if (session.protocolVersion === 5) {
      Object.assign(properties, publish.properties);
      delete properties.topicAlias;
      delete properties.subscriptionIdentifier;
      const identifier = sub && session.identifierFor(sub, publish.topic);
      if (identifier !== undefined) properties.subscriptionIdentifier = [identifier];
    }
    const message = new MemoryMessage(
      {
        topic: publish.topic,
        payload: publish.payload,
        qos,
        retain,
        dup,
        properties,
        protocolVersion: session.protocolVersion,
        ...(qos > 0 ? { packetId: this.nextPacketId() } : {}),
      },
      publish,
    );
    if (track) this.deliveries.track(client, [message]);
    return message;
  }

  private nextPacketId(): number {
    this.lastPacketId = (this.lastPacketId % 65535) + 1;
    return this.lastPacketId;
  }

  /** QoS 1/2 deliveries not yet acknowledged, oldest first. */
  unacked(): Delivery[] {
    return this.deliveries.pending();
  }

  /** Retained messages, by topic. */
  retainedMessages(): BrokerPublish[] {
    return [...this.retained.values()];
  }

  /** Disconnects every client and forgets all state. */
  close(): void {
    this.closed = true;
    for (const s of [...this.sessions.values()]) s.client?.serverDisconnect(0x8b, 'The in-memory test broker closed');
    this.sessions.clear();
    this.retained.clear();
    this.deliveries.clear();
  }
}
