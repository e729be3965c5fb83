import { randomBytes } from 'node:crypto';
import { ClientEventSource } from '../driver/client-events.js';
import {
  type ClientEvents,
  type ClientStatus,
  type ConnackProperties,
  type DisconnectOptions,
  MqttDisconnectedError,
  type MqttDriverClient,
  type MqttMessage,
  MqttMessageDroppedError,
  MqttProtocolError,
  MqttSubscribeError,
  type PingOptions,
  type PublishOptions,
  type PublishResult,
  parseSharedFilter,
  type QoS,
  type RequestOptions,
  type SubscribeOptions,
  type Subscription,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from '../driver/index.js';
import { CLIENT_DEFAULTS, resolveClientOptions } from '../driver/options.js';
import { Requests } from '../driver/request.js';
import { SubscriptionTable } from '../driver/subscription-table.js';
import type { MemoryBroker, MemoryConnectOptions } from './memory-broker.js';
import type { MemoryMessage } from './memory-message.js';
import { MemorySubscription } from './memory-subscription.js';
import type { Session } from './session.js';

/** What the broker tells a client it just connected (the CONNACK). */
export interface ConnackInfo {
  sessionPresent: boolean;
  assignedClientIdentifier: string | undefined;
  /** The identifier the client reports (3.1.1 clients never learn one the broker assigned). */
  reportedClientId: string;
}

const NO_MATCHING_SUBSCRIBERS = 0x10;

/**
 * A driver client connected to the in-memory broker. It implements `MqttDriverClient` with the real driver's
 * rules: topics and filters validated the same way, MQTT 5 properties dropped on 3.1.1, request/response by the
 * driver's own `Requests`, typed errors, every promise settles on `disconnect()`.
 */
export class MemoryClient extends ClientEventSource implements MqttDriverClient {
  readonly protocolVersion: 4 | 5;
  readonly clientId: string;
  readonly serverProperties: ConnackProperties | undefined;
  readonly tracked: boolean;
  private currentStatus: ClientStatus = 'connected';
  private readonly subscriptions = new Set<MemorySubscription>();
  /** Messages for the session that no Subscription of this client matches yet (resumed sessions). */
  private readonly unrouted: MemoryMessage[] = [];
  private readonly requests: Requests;
  private nextPacketId = 1;
  private readonly identifiers = new SubscriptionTable<MemorySubscription>();

  constructor(
    private readonly broker: MemoryBroker,
    readonly session: Session,
    readonly options: MemoryConnectOptions,
    connack: ConnackInfo,
  ) {
    super();
    this.protocolVersion = session.protocolVersion;
    this.clientId = connack.reportedClientId;
    this.tracked = options.track === true;
    this.serverProperties =
      this.protocolVersion === 5
        ? connack.assignedClientIdentifier
          ? { assignedClientIdentifier: connack.assignedClientIdentifier }
          : {}
        : undefined;
    // The driver's own request/response logic, on this client's public interface.
    this.requests = new Requests(this, randomBytes(6).toString('hex'), resolveClientOptions(options));
  }

  get status(): ClientStatus {
    return this.currentStatus;
  }

  /** @internal Reports a dropped message, as the driver's `error` event does. */
  emitError(message: string): void {
    this.emit('error', new MqttMessageDroppedError(message));
  }

  async publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<PublishResult> {
    validateTopicName(topic);
    if (this.currentStatus === 'closed') throw new MqttDisconnectedError('Client is closed: call connect() again');
    const qos: QoS = options.qos ?? 0;
    const bytes =
      typeof payload === 'string'
        ? Buffer.from(payload)
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const properties = this.protocolVersion === 5 ? { ...(options.properties ?? {}) } : {};
    const sent = this.broker.publish({
      topic,
      payload: Buffer.from(bytes),
      qos,
      retain: options.retain ?? false,
      properties,
      publisher: this.session.clientId,
    });
    if (qos === 0) return { reasonCode: 0 };
    const packetId = this.nextPacketId;
    this.nextPacketId = (this.nextPacketId % 65535) + 1;
    const reasonCode = this.protocolVersion === 5 && sent === 0 ? NO_MATCHING_SUBSCRIBERS : 0;
    return { packetId, reasonCode };
  }

  async subscribe(filter: string | string[], options: SubscribeOptions = {}): Promise<Subscription> {
    const filters = Array.isArray(filter) ? filter : [filter];
    if (filters.length === 0) throw new MqttSubscribeError('subscribe() needs at least one filter', []);
    for (const f of filters) validateTopicFilter(f);
    if (this.currentStatus === 'closed') {
      throw new MqttDisconnectedError('Not connected: retry when the client is connected');
    }
    const v5 = this.protocolVersion === 5;
    if (v5 && options.noLocal && filters.some((f) => parseSharedFilter(f).group !== undefined)) {
      const error = new MqttProtocolError('No Local is not allowed on a shared subscription', 0x82);
      this.serverDisconnect(0x82, error.message);
      throw error;
    }
    const effective: SubscribeOptions = v5
      ? { ...options }
      : { ...options, noLocal: undefined, retainAsPublished: undefined, retainHandling: undefined };
    const qos = Math.min(options.qos ?? 0, 2);
    // Identifiers as the driver assigns them: filters of one SUBSCRIBE never overlap, so overlapping ones get their own.
    const plans = v5 ? this.identifiers.plan(filters) : [];
    const sub = new MemorySubscription(
      filters,
      filters.map(() => qos),
      effective,
      plans[0]?.id,
      (s) => this.unsubscribed(s),
    );
    for (const p of plans) for (const i of p.indexes) sub.identifiers.set(filters[i]!, p.id);
    this.subscriptions.add(sub);
    this.broker.subscribe(this, sub);
    return sub;
  }

  private unsubscribed(sub: MemorySubscription): void {
    if (!this.subscriptions.delete(sub)) return;
    for (const m of sub.drain()) m.discard();
    this.broker.unsubscribe(this, sub);
  }

  request(topic: string, payload: Uint8Array | string, options: RequestOptions = {}): Promise<MqttMessage> {
    return this.requests.request(topic, payload, options);
  }

  /**
   * The in-memory PINGREQ/PINGRESP: resolves with the (near-zero) time it took while connected; rejects with
   * `MqttDisconnectedError` once the client is closed, as the driver does when its link is down.
   */
  async ping(_options?: PingOptions): Promise<number> {
    const started = performance.now();
    if (this.currentStatus === 'closed') {
      throw new MqttDisconnectedError('Not connected: ping needs a live link to the broker; retry when connected');
    }
    return performance.now() - started;
  }

  /** Sends DISCONNECT: the session ends (or is kept, when persistent). Idempotent. */
  async disconnect(options: DisconnectOptions = {}): Promise<void> {
    this.close(options.sessionExpiryInterval, undefined);
  }

  /** @internal The broker closed the link (take-over, protocol error, broker closed). */
  serverDisconnect(reasonCode: number, reasonString: string): void {
    this.close(undefined, { reasonCode, reasonString });
  }

  private close(sessionExpiryInterval: number | undefined, byServer: ClientEvents['disconnect'][0] | undefined) {
    if (this.currentStatus === 'closed') return;
    const unread: MemoryMessage[] = [...this.unrouted.splice(0)];
    for (const sub of this.subscriptions) unread.push(...sub.drain());
    this.subscriptions.clear();
    this.broker.detach(this, sessionExpiryInterval, unread);
    this.currentStatus = 'closed';
    this.requests.rejectAll('Client disconnected');
    if (byServer) this.emit('disconnect', byServer);
    this.emit('status', 'closed');
  }

  /** @internal Subscriptions still delivering. */
  liveSubscriptions(): MemorySubscription[] {
    return [...this.subscriptions];
  }

  /** @internal Keeps a message for the session until a matching Subscription exists (QoS 0 bounded, like the driver). */
  hold(message: MemoryMessage): void {
    const heldQos0 = this.unrouted.filter((m) => m.qos === 0).length;
    if (message.qos === 0 && heldQos0 >= (this.options.unroutedBufferSize ?? CLIENT_DEFAULTS.unroutedBufferSize)) {
      message.discard();
      this.emitError(`QoS 0 message on ${message.topic} matched no subscription yet and was dropped`);
      return;
    }
    this.unrouted.push(message);
  }

  /** @internal Hands held messages that `sub` matches to it. */
  drainHeld(sub: MemorySubscription): void {
    for (let i = 0; i < this.unrouted.length; ) {
      const m = this.unrouted[i]!;
      if (sub.filters.some((f) => topicMatches(f, m.topic))) {
        this.unrouted.splice(i, 1);
        m.tagSubscription(this.session.identifierFor(sub, m.topic));
        this.broker.push(this, sub, m);
      } else i++;
    }
  }
}
