import { randomBytes } from 'node:crypto';
import { Reauthentication } from './auth.js';
import { ClientEventSource } from './client-events.js';
import { encodePacket } from './codec/index.js';
import type { ConnackProperties, Packet, ProtocolVersion, PublishPacket, QoS } from './codec/packets.js';
import { Connection } from './connection.js';
import { MqttDisconnectedError, MqttError, MqttProtocolError } from './errors.js';
import { inspectAs } from './inspect.js';
import { MessageRouter } from './message-router.js';
import { CLIENT_DEFAULTS, type ResolvedClientOptions, resolveClientOptions } from './options.js';
import { Pings } from './ping.js';
import { clientPublishProperties } from './publish-properties.js';
import { Requests } from './request.js';
import { checkServerLimits } from './server-limits.js';
import { InboundAcks } from './session/inbound.js';
import { Outbound } from './session/outbound.js';
import { validateTopicName } from './topic.js';
import { redactUrl } from './transport/url.js';
import type {
  ClientStatus,
  DisconnectedEvent,
  DisconnectOptions,
  MqttClient,
  MqttClientOptions,
  MqttMessage,
  PingOptions,
  PublishOptions,
  PublishResult,
  RequestOptions,
  SubscribeOptions,
  Subscription,
} from './types.js';

/** Outgoing QoS 1/2 in flight on MQTT 3.1.1, where the server cannot tell us its limit (mosquitto's default). */
const V4_IN_FLIGHT = 20;
/** `subscribe()` without options: one shared object (each Subscription keeps its options as long as it lives). */
const NO_OPTIONS: SubscribeOptions = Object.freeze({});

/**
 * The MQTT 5 / 3.1.1 network client behind `connect()`, which hands it out as the `MqttClient` interface: its
 * session state (Outbound, InboundAcks, MessageRouter, Connection) is not API. Every publish settles: on a
 * reconnect pending QoS 1/2 publishes are resent; when the client closes they reject with `MqttDisconnectedError`.
 */
export class NetworkClient extends ClientEventSource implements MqttClient {
  readonly protocolVersion: ProtocolVersion;
  clientId: string;
  serverProperties: ConnackProperties | undefined;
  private currentStatus: ClientStatus = 'connecting';
  /** @internal */
  readonly outbound: Outbound;
  /** @internal */
  readonly inbound: InboundAcks;
  /** @internal */
  readonly router: MessageRouter;
  private readonly requests: Requests;
  /** @internal */
  readonly connection: Connection;
  /** `options` with the driver's defaults (lib/driver/options.ts). */
  private readonly settings: ResolvedClientOptions;

  constructor(
    readonly url: URL,
    readonly options: MqttClientOptions,
  ) {
    super();
    this.settings = resolveClientOptions(options);
    this.protocolVersion = this.settings.protocolVersion;
    this.clientId = options.clientId ?? '';
    this.outbound = new Outbound(
      (p) => this.send(p as Packet),
      (p) => checkServerLimits(p, this.protocolVersion, this.serverProperties),
    );
    this.inbound = new InboundAcks((qos, packetId, reasonCode) => this.sendAck(qos, packetId, reasonCode));
    this.router = new MessageRouter(this, this.outbound.ids, this.settings);
    this.requests = new Requests(this, randomBytes(6).toString('hex'), this.settings);
    this.connection = new Connection(
      { url, options: this.settings, protocolVersion: this.protocolVersion, clientId: () => this.clientId },
      {
        up: (connack) => this.linkUp(connack.sessionPresent, connack.properties),
        packet: (packet) => this.onPacket(packet),
        down: (lost) => this.linkDown(lost),
        lost: (reconnect) => this.linkLost(reconnect),
        reconnecting: (event) => this.emit('reconnecting', event),
        gaveUp: (error) => {
          this.fail(error);
          this.shutdown('Reconnect gave up');
        },
        closing: () => this.setStatus('disconnected'),
        error: (error) => this.fail(error),
      },
    );
  }

  private readonly pings = new Pings(() => this.send({ type: 'pingreq' }));

  /**
   * A PINGREQ → PINGRESP round trip: resolves with its duration in ms (e.g. for a health check). Rejects with
   * `MqttDisconnectedError` when the link is down (at once, or when it goes down meanwhile) and
   * `MqttTimeoutError` when no PINGRESP came within `options.timeout` (default 5_000 ms).
   */
  ping(options?: PingOptions): Promise<number> {
    return this.pings.ping(options);
  }

  private readonly reauth = new Reauthentication(
    () => this.options.auth,
    (p) => this.send(p),
  );

  /**
   * MQTT 5: runs the enhanced authentication of `options.auth` again on the live connection (AUTH 0x19), e.g.
   * before a token expires. Resolves when the broker accepted it; rejects when it refused (it then disconnects).
   */
  reauthenticate(): Promise<void> {
    if (this.protocolVersion !== 5) return Promise.reject(new MqttError('Re-authentication needs MQTT 5'));
    return this.reauth.start();
  }

  get status(): ClientStatus {
    return this.currentStatus;
  }

  private setStatus(status: ClientStatus): void {
    if (this.currentStatus === status) return;
    this.currentStatus = status;
    this.emit('status', status);
  }

  /** @internal Writes a packet when connected; returns false when offline. */
  send(packet: Packet, callback?: (err?: Error | null) => void): boolean {
    return this.connection.write(encodePacket(packet, this.protocolVersion), callback);
  }

  /** The encoder ignores reason codes on 3.1.1, and writes a success ack of v5 in its 2-byte short form. */
  private sendAck(qos: 1 | 2, packetId: number, reasonCode: number): void {
    this.send({ type: qos === 1 ? 'puback' : 'pubrec', packetId, reasonCode });
  }

  /**
   * Publishes a message. QoS 0 resolves once written to the socket; QoS 1 on PUBACK; QoS 2 on PUBCOMP.
   * Rejected locally (nothing sent) with `MqttPublishError` when it exceeds the server's Maximum Packet
   * Size (0x95), its Maximum QoS (0x9B, never silently downgraded), uses retain where Retain Available is false
   * (0x9A) or a `properties.topicAlias` outside 1..the server's Topic Alias Maximum (0x94; none allowed when the
   * server announced no maximum).
   */
  async publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<PublishResult> {
    validateTopicName(topic);
    if (this.currentStatus === 'closed') throw new MqttDisconnectedError('Client is closed: call connect() again');
    const qos: QoS = options.qos ?? 0;
    const packet: PublishPacket = {
      type: 'publish',
      topic,
      qos,
      retain: options.retain ?? false,
      dup: qos > 0 && options.dup === true,
      payload:
        typeof payload === 'string'
          ? Buffer.from(payload)
          : Buffer.isBuffer(payload)
            ? payload
            : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      properties: this.protocolVersion === 5 ? clientPublishProperties(options.properties) : undefined,
    };
    checkServerLimits(packet, this.protocolVersion, this.serverProperties);
    if (qos > 0) return this.outbound.submit(packet, this.currentStatus === 'connected');
    if (this.currentStatus !== 'connected')
      throw new MqttDisconnectedError('Not connected: QoS 0 publish dropped; retry later or use QoS 1');
    return new Promise((resolve, reject) => {
      this.send(packet, (err) =>
        err
          ? reject(new MqttDisconnectedError(`Write failed: ${err.message}`, { cause: err }))
          : resolve({ reasonCode: 0 }),
      );
    });
  }

  subscribe(filter: string | string[], options: SubscribeOptions = NO_OPTIONS): Promise<Subscription> {
    return this.router.subscribe(Array.isArray(filter) ? filter : [filter], options);
  }

  /**
   * Request/response. MQTT 5: publishes with a Response Topic (on the broker's Response Information when it gave
   * one) and 16 random bytes of Correlation Data, resolves with the matching reply. MQTT 3.1.1: needs
   * `options.responseTopic` and takes the first message there (throws before any I/O without it).
   * While the client is reconnecting the request waits for the connection within `timeout`; once sent it survives
   * reconnects. Rejects with `MqttTimeoutError` after `timeout`, `MqttDisconnectedError` when the client closes,
   * `MqttPublishError` 0x97 beyond `maxPendingRequests`, `MqttInvalidTopicError` before any I/O.
   */
  request(topic: string, payload: Uint8Array | string, options: RequestOptions = {}): Promise<MqttMessage> {
    return this.requests.request(topic, payload, options);
  }

  private closing: Promise<void> | undefined;

  /**
   * Sends DISCONNECT (when connected; MQTT 5 with `reasonCode`, `sessionExpiryInterval` and `reasonString`),
   * closes, and rejects everything pending. Idempotent: later and concurrent calls share the first one's close
   * (one DISCONNECT on the wire). From the moment DISCONNECT is queued (synchronously, in this call) the status is
   * `disconnected` and nothing else is written (MQTT-3.14.4-1): publishes, SUBSCRIBEs and requests made or
   * unconfirmed then reject with `MqttDisconnectedError`, acks are not sent (the broker redelivers those messages
   * to a resumed session) and packets still arriving are not processed.
   * Rejects before any I/O, leaving the client connected, with `MqttError` (0x82) when `sessionExpiryInterval` is
   * non-zero but the connection was made with a zero Session Expiry Interval — MQTT 5 (3.14.2.2.2) makes that a
   * protocol error, so the broker would not take the DISCONNECT as a normal one (and would publish the will).
   */
  async disconnect(options: DisconnectOptions = {}): Promise<void> {
    if (this.closing) return this.closing;
    if (this.currentStatus === 'closed') return;
    if (this.protocolVersion === 5 && options.sessionExpiryInterval) {
      const atConnect =
        this.options.sessionExpiryInterval || this.options.connectProperties?.sessionExpiryInterval || 0;
      if (atConnect === 0) {
        throw new MqttError(
          'disconnect({ sessionExpiryInterval }) needs a non-zero sessionExpiryInterval at connect: connect with ' +
            'one (any value; disconnect may then change it), or leave it out / pass 0 here',
          { reasonCode: 0x82 },
        );
      }
    }
    this.closing = (async () => {
      await this.connection.close(options);
      this.shutdown('Client disconnected');
    })();
    return this.closing;
  }

  // Lifecycle fan-out: the Connection only reports its link (up / packet / down / lost); this is the one place that
  // hands each report on to the session state (Outbound, InboundAcks), the MessageRouter, Requests, pings,
  // re-authentication and the application's events. The order, and why:
  // - up (CONNACK accepted; before the packets that follow it in the same chunk):
  //   1. server properties, assigned client id, Outbound limits: what everything after is checked against;
  //   2. InboundAcks reset (and its session forgotten without a session), topic aliases cleared: before any
  //      redelivered PUBLISH is handled, or its ack would be discarded by the reset;
  //   3. status 'connected': writes are accepted from here;
  //   4. Outbound resumes (in-flight publishes resent first, in order), 5. MessageRouter re-subscribes (or drops messages
  //      held for a lost session), 6. Requests waiting for the link go out, 7. the 'connect' event.
  // - down (the link closed): 1. InboundAcks reset, 2. status 'disconnected', 3. re-authentication aborted and
  //   pings rejected, 4. the 'disconnect' event (its listeners see status 'disconnected').
  // - lost (after down, unless disconnect() was called meanwhile — even by a 'disconnect' listener): 1. MessageRouter
  //   rejects SUBSCRIBEs waiting for SUBACK, 2. reconnect off: shutdown; on: status 'reconnecting'.
  // - shutdown (final): status 'closed', then Outbound, MessageRouter, Requests and pings reject what they hold.

  private linkUp(sessionPresent: boolean, properties: ConnackProperties | undefined): void {
    this.serverProperties = properties;
    if (properties?.assignedClientIdentifier) this.clientId = properties.assignedClientIdentifier;
    // 3.1.1 has no Receive Maximum, yet brokers still cap in-flight QoS 2 (mosquitto: 20, then it drops the excess
    // silently — a 3.1.1 PUBREC cannot carry 0x97). Stay within that window on 3.1.1.
    this.outbound.limitsVersion++;
    this.outbound.receiveMaximum = properties?.receiveMaximum ?? (this.protocolVersion === 4 ? V4_IN_FLIGHT : 65535);
    this.inbound.reset();
    this.topicAliases.clear();
    if (!sessionPresent) this.inbound.sessionLost();
    this.setStatus('connected');
    this.outbound.resume(sessionPresent);
    this.router.onConnected(sessionPresent);
    this.requests.onConnected(properties?.responseInformation);
    this.emit('connect', { sessionPresent, properties });
  }

  private linkDown(lost: DisconnectedEvent): void {
    this.inbound.reset();
    this.setStatus('disconnected');
    this.reauth.abort(lost);
    this.pings.rejectAll('Connection to the broker lost');
    this.emit('disconnect', lost);
  }

  private linkLost(reconnect: boolean): void {
    this.router.onConnectionLost();
    if (reconnect) this.setStatus('reconnecting');
    else this.shutdown('Connection lost (reconnect disabled)');
  }

  /** @internal Final close: reject every pending operation. */
  shutdown(reason: string): void {
    this.setStatus('closed');
    this.outbound.rejectAll(`${reason}: publish not confirmed`);
    this.router.closeAll();
    this.requests.rejectAll(reason);
    this.pings.rejectAll(reason);
  }

  /** Dispatches an inbound packet. */
  private onPacket(packet: Packet): void {
    switch (packet.type) {
      case 'publish':
        this.onPublish(packet);
        return;
      case 'puback':
        this.outbound.onPuback(packet.packetId, packet.reasonCode, packet.properties);
        return;
      case 'pubrec':
        if (this.outbound.onPubrec(packet.packetId, packet.reasonCode, packet.properties)) {
          this.send({ type: 'pubrel', packetId: packet.packetId, reasonCode: 0 });
        }
        return;
      case 'pubcomp':
        this.outbound.onPubcomp(packet.packetId);
        return;
      case 'pubrel':
        this.inbound.awaitingRelease.delete(packet.packetId);
        this.send({ type: 'pubcomp', packetId: packet.packetId, reasonCode: 0 });
        return;
      case 'suback':
      case 'unsuback':
        this.router.onAck(packet);
        return;
      case 'pingresp':
        this.pings.onPingresp();
        return;
      case 'auth':
        this.reauth.onPacket(packet);
        return;
      case 'disconnect':
        this.connection.onServerDisconnect(packet);
        return;
      default:
        throw new MqttProtocolError(`Unexpected ${packet.type} packet from the server`, 0x82);
    }
  }

  private readonly topicAliases = new Map<number, string>();

  /** Resolves an inbound topic alias; one we never allowed is a 0x94 protocol error. */
  private resolveAlias(packet: PublishPacket): void {
    const alias = packet.properties?.topicAlias;
    if (alias === undefined) return;
    const max = this.options.topicAliasMaximum ?? CLIENT_DEFAULTS.topicAliasMaximum;
    if (alias === 0 || alias > max)
      throw new MqttProtocolError(`Topic alias ${alias} exceeds our Topic Alias Maximum ${max}`, 0x94);
    if (packet.topic) this.topicAliases.set(alias, packet.topic);
    else {
      const topic = this.topicAliases.get(alias);
      if (!topic) throw new MqttProtocolError(`Unknown topic alias ${alias}`, 0x82);
      packet.topic = topic;
    }
  }

  private onPublish(packet: PublishPacket): void {
    this.resolveAlias(packet);
    if (packet.qos === 2 && this.inbound.isDuplicateQos2(packet.packetId as number)) {
      if (this.inbound.awaitingRelease.has(packet.packetId as number)) this.sendAck(2, packet.packetId as number, 0);
      return;
    }
    if (packet.qos > 0 && this.inbound.reattach(packet.packetId as number, packet.qos as 1 | 2, packet.dup)) return;
    if (this.refuseUserProperties(packet)) return;
    const max = this.options.receiveMaximum ?? CLIENT_DEFAULTS.receiveMaximum;
    if (packet.qos > 0 && this.inbound.unacknowledged >= max + this.settings.receiveMaximumTolerance) {
      throw new MqttProtocolError(`Server exceeded our Receive Maximum ${max}`, 0x93);
    }
    this.router.route(packet, (holders) => {
      if (packet.qos === 0) return undefined;
      const entry = this.inbound.track(packet.packetId as number, packet.qos as 1 | 2, holders);
      return (code: number) => this.inbound.settle(entry, code);
    });
  }

  /**
   * A PUBLISH with more than `maxUserProperties` user properties is refused (0x83) instead of delivered: however
   * the application reads them, a packet full of them would cost it time and memory per message.
   */
  private refuseUserProperties(packet: PublishPacket): boolean {
    const count = packet.properties?.userProperties?.length ?? 0;
    const max = this.settings.maxUserProperties;
    if (count <= max) return false;
    if (packet.qos > 0)
      this.inbound.settle(this.inbound.track(packet.packetId as number, packet.qos as 1 | 2, 1), 0x83);
    this.fail(
      new MqttProtocolError(
        `PUBLISH with ${count} user properties refused (0x83): more than maxUserProperties (${max})`,
        0x83,
      ),
    );
    return true;
  }

  /** @internal */
  fail(error: Error): void {
    this.emit('error', error instanceof MqttError ? error : new MqttError(error.message, { cause: error }));
  }
}

inspectAs(
  NetworkClient,
  (c) => `MqttClient { url: '${redactUrl(c.url.href)}', clientId: '${c.clientId}', status: '${c.status}' }`,
);
