import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { from, Observable } from 'rxjs';
import {
  type ClientEvents,
  type ClientStatus,
  connect as driverConnect,
  MqttDisconnectedError,
  type MqttDriverClient,
  type PublishProperties,
  type QoS,
  type Subscription,
} from '../../driver/index.js';
import { inspectAs } from '../../driver/inspect.js';
import { redactUrl } from '../../driver/transport/url.js';
import { DriverLink } from '../driver-link.js';
import { connectFailure, MqttAsyncClientClosedError, MqttAsyncNotConnectedError } from '../errors.js';
import type { MqttAsyncClientOptions } from '../options.js';
import { type OutgoingMessage, publishOptionsOf, unwrapRecord } from '../record/outgoing.js';
import {
  type EncodedPayload,
  encodeRequest,
  isPromiseLike,
  type PacketCodecOptions,
  type PacketCodecs,
  packetCodecs,
} from '../serialization/index.js';
import { nestReplyTopic } from '../serialization/nest-wire.js';
import { ClientTelemetry } from '../telemetry/client-hooks.js';
import { ConnectionGate, DEFAULT_OFFLINE_QUEUE_SIZE } from './connection-gate.js';
import { DEFAULT_PUBLISH_TIMEOUT, EventPublisher, ignoreRejection } from './event-publisher.js';
import { PendingRequests } from './pending-requests.js';
import { NestReplyChannels } from './reply-channels.js';
import { ReplyRouter } from './reply-router.js';
import { RequestIds } from './request-ids.js';

type Callback = (packet: WritePacket) => void;

/** Events of `ClientMqttAsync.on()`: the driver client's events. */
export type MqttAsyncClientEvents = {
  [E in keyof ClientEvents]: (...args: ClientEvents[E]) => void;
};

/** Default `requestQos`: requests and their replies at QoS 0 (see `MqttAsyncClientOptions.requestQos`). */
export const DEFAULT_REQUEST_QOS: QoS = 0;

/** Default `requestTimeout` of `send()` in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT = 30_000;

/**
 * Nest `ClientProxy` on the nest-mqtt-async driver.
 *
 * - MQTT 5 (default): `send()` publishes the bare payload with a Response Topic private to this client and the
 *   request id as Correlation Data; replies may stream (the last is flagged final).
 * - MQTT 3.1.1, or `nestWireFormat: true`: Nest's own MQTT wire format — `{pattern,data,id}` on the pattern's
 *   topic, replies `{id,response,err,isDisposed}` on `<topic>/reply` — so it can call Nest's built-in `ServerMqtt`.
 *   Events are wrapped as `{pattern,data}` too, unless `nestWireFormat: false`.
 *
 * `emit()` accepts a {@link MqttAsyncRecord} for QoS, retain and MQTT 5 properties. `status` follows the driver's
 * status; `on()` registers driver events; `unwrap()` is the driver client.
 *
 * Bounds (docs/failure-behaviour.md): the first `connect()` fails after its bounded attempts with the driver's
 * `MqttConnectError` (socket `code` such as `ECONNREFUSED` at its top level). While the link is down, `send()` and
 * QoS 1/2 `emit()` wait for it within `requestTimeout` / `publishTimeout` and are never sent once that ran out
 * (`MqttAsyncNotConnectedError`); a QoS 0 `emit()` is rejected at once. A request already sent when the link drops
 * keeps waiting for its reply within `requestTimeout`. `close()` returns promptly in every state and rejects
 * everything pending with `MqttAsyncClientClosedError`.
 */
export class ClientMqttAsync extends ClientProxy<MqttAsyncClientEvents> {
  private readonly log = new Logger(ClientMqttAsync.name);
  private client?: MqttDriverClient;
  /** `client` without the telemetry wrapper (the same object when telemetry is off). */
  private direct?: MqttDriverClient;
  /** The driver client whose events are forwarded (`current`: set before its first attempt), `on()` listeners. */
  private readonly link: DriverLink = new DriverLink(
    {
      wired: () => {
        this.closeCause = undefined;
      },
      status: (status, current) => {
        if (current) this.gate.onStatus(status);
        this._status$.next(status);
      },
      error: (err) => this.log.error(`MQTT client error: ${err.message}`),
      gaveUp: (lastError) => {
        // Loud, never quiet: reconnecting gave up (a reconnect.maxAttempts that ran out, a permanent refusal).
        this.closeCause = lastError ?? new MqttDisconnectedError('the connection closed');
        this.log.error(
          `ClientMqttAsync stopped: the connection to ${redactUrl(this.options.url)} is closed for good ` +
            `(${this.closeCause.message}); leave reconnect.maxAttempts unset to reconnect forever`,
        );
      },
      closing: () => this.link.current === undefined,
    },
    () => this.log,
  );
  private connecting?: Promise<MqttDriverClient>;
  private nativeReplies?: Subscription;
  private nestChannels?: NestReplyChannels;
  private readonly replyTopic = `nest-mqtt-async/replies/${randomUUID()}`;
  private readonly pending: PendingRequests;
  private readonly replies: ReplyRouter;
  /** The link while it is down: `send()`/`emit()` wait here for it. */
  private readonly gate: ConnectionGate;
  private readonly events: EventPublisher;
  /** Bumped by `close()`: a connect that completes afterwards is discarded. */
  private generation = 0;
  private readonly telemetry: ClientTelemetry;
  /** Unpredictable request ids (also unique across clients on shared Nest `<topic>/reply` topics). */
  private readonly ids = new RequestIds();
  private readonly codecs: PacketCodecs;
  /** Why the client stopped on its own (status `closed` without `close()`): reconnecting gave up. */
  closeCause: Error | undefined;
  /** QoS of requests (see `requestQos`): 0 unless set. */
  private readonly requestQos: QoS;

  constructor(protected readonly options: MqttAsyncClientOptions) {
    super();
    this.codecs = packetCodecs(options);
    this.requestQos = options.requestQos ?? DEFAULT_REQUEST_QOS;
    this.gate = new ConnectionGate(options.url, options.offlineQueueSize ?? DEFAULT_OFFLINE_QUEUE_SIZE);
    this.telemetry = new ClientTelemetry(options.telemetry);
    this.pending = new PendingRequests(
      options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
      (pattern, ms, drops) => this.gate.requestTimeoutError(pattern, ms, drops),
      options.maxPendingRequests,
    );
    this.replies = new ReplyRouter(this.pending, (nestWire) => this.codec(nestWire), this.log);
    this.events = new EventPublisher({
      gate: this.gate,
      client: () => this.producer() ?? this.connect(),
      codec: (client) => this.codec(this.wrapsEvents(client)),
      qos: options.qos ?? 1,
      timeoutMs: options.publishTimeout ?? DEFAULT_PUBLISH_TIMEOUT,
    });
  }

  /** The driver's status (`connecting`, `connected`, `reconnecting`, `disconnected`, `closed`), deduplicated. */
  override get status(): Observable<ClientStatus> {
    return super.status as Observable<ClientStatus>;
  }

  /** Connects (once; concurrent calls share the attempt) and prepares reply handling. */
  connect(): Promise<MqttDriverClient> {
    if (this.connecting) return this.connecting;
    const connecting: Promise<MqttDriverClient> = this.open().catch((err) => {
      if (this.connecting === connecting) this.connecting = undefined;
      throw err;
    });
    this.connecting = connecting;
    return connecting;
  }

  /**
   * The first connection, bounded by `reconnect.connectAttempts`. Failures reject with the driver's
   * `MqttConnectError` (reason code, socket `code`) naming the redacted URL; `close()` meanwhile aborts it
   * (`MqttAsyncClientClosedError`).
   */
  private async open(): Promise<MqttDriverClient> {
    const generation = this.generation;
    const closed = () => new MqttAsyncClientClosedError('ClientMqttAsync was closed while connecting');
    const connector = this.options.connector ?? driverConnect;
    this._status$.next('connecting');
    this.gate.onStatus('connecting');
    let client: MqttDriverClient;
    try {
      client = await this.telemetry.detached(() => connector(this.options.url, this.link.driverOptions(this.options)));
    } catch (err) {
      if (generation !== this.generation) throw closed();
      this.link.current = undefined;
      this._status$.next('closed');
      throw connectFailure('ClientMqttAsync', this.options.url, err);
    }
    if (generation !== this.generation) {
      await client.disconnect().catch(() => undefined); // a connector that ignored the abort
      throw closed();
    }
    if (this.link.current !== client) this.link.wire(client); // a connector that does not call beforeConnect
    try {
      await this.prepareReplies(client);
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      throw generation === this.generation ? err : closed();
    }
    const telemetry = await this.telemetry.ready;
    telemetry?.observe(client);
    // Publishes (requests, events) go through the telemetry wrapper: PRODUCER spans, trace context carried.
    const producer = telemetry ? telemetry.wrap(client) : client;
    this.client = producer;
    this.direct = client;
    this.gate.onStatus(client.status);
    this._status$.next(client.status);
    return producer;
  }

  private async prepareReplies(client: MqttDriverClient): Promise<void> {
    if (this.usesNestWire(client)) {
      this.nestChannels = new NestReplyChannels(client, (m) => this.replies.onReply(m, true));
      return;
    }
    this.nativeReplies = await client.subscribe(this.replyTopic, { qos: 1 });
    void this.replies.consume(this.nativeReplies);
  }

  /** RPC in the Nest wire format: always on MQTT 3.1.1 (it has no Response Topic), opt-in on MQTT 5. */
  private usesNestWire(client: MqttDriverClient): boolean {
    return this.options.nestWireFormat === true || client.protocolVersion === 4;
  }

  /** Events wrapped as `{pattern,data}`: with the Nest wire format, unless `nestWireFormat: false` is explicit. */
  private wrapsEvents(client: MqttDriverClient): boolean {
    return this.options.nestWireFormat ?? client.protocolVersion === 4;
  }

  private codec(nestWire: boolean): PacketCodecOptions {
    return nestWire ? this.codecs.nest : this.codecs.native;
  }

  /**
   * Disconnects, promptly in every state: never connected, connecting (the attempts are aborted), reconnecting,
   * connected. Every pending `send()` and unsettled `emit()` errors with {@link MqttAsyncClientClosedError}.
   */
  async close(): Promise<void> {
    this.generation++;
    const client = this.client ?? this.link.current;
    this.connecting = undefined;
    this.client = undefined;
    this.link.current = undefined;
    this.direct = undefined;
    this.nativeReplies = undefined;
    this.nestChannels = undefined;
    this.gate.onStatus('closed');
    this.pending.failAll(() => new MqttAsyncClientClosedError());
    this.gate.failAll(
      () => new MqttAsyncClientClosedError('ClientMqttAsync was closed while offline: nothing was sent'),
    );
    this.events.abortAll(
      () => new MqttAsyncClientClosedError('ClientMqttAsync was closed before the broker confirmed the emit'),
    );
    await client?.disconnect().catch((err) => this.log.error(`Disconnect failed: ${(err as Error).message}`));
    this._status$.next('closed');
  }

  /**
   * The client requests and events are published with: the telemetry wrapper only while telemetry is active
   * (see `Telemetry.active`); with the no-op providers each publish would only pass through it.
   */
  private producer(): MqttDriverClient | undefined {
    return this.telemetry.current?.active ? this.client : this.direct;
  }

  /** The driver client (after `connect()`). */
  unwrap<T = MqttDriverClient>(): T {
    if (!this.client) {
      throw new MqttAsyncNotConnectedError(
        'disconnected',
        'ClientMqttAsync is not connected yet: call connect() (or send/emit) first',
      );
    }
    return this.client as T;
  }

  /**
   * Registers a listener for a driver event (`connect`, `disconnect`, `reconnecting`, `status`, `error`). Works
   * before `connect()`: it is attached to the driver client before its first connection attempt, so it also sees
   * that attempt's retries and its `connect` event.
   */
  override on<
    EventKey extends keyof MqttAsyncClientEvents = keyof MqttAsyncClientEvents,
    EventCallback extends MqttAsyncClientEvents[EventKey] = MqttAsyncClientEvents[EventKey],
  >(event: EventKey, callback: EventCallback): void {
    this.link.on(event as string, callback as unknown as (...args: unknown[]) => void);
  }

  /**
   * `ClientProxy.send()` without its per-call `defer(connect)` + `mergeMap`: {@link publish} connects when needed.
   * Cold, like Nest's: the request leaves on subscribe; unsubscribing stops waiting for the reply.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the signature of ClientProxy.send(), whose result type users infer
  override send<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    if (pattern === null || pattern === undefined || data === null || data === undefined) {
      return super.send(pattern, data);
    }
    return new Observable<TResult>((observer) =>
      this.publish(this.packetOf(pattern, data), this.createObserver(observer)),
    );
  }

  /**
   * `ClientProxy.emit()`: hot, like Nest's (the publish starts now, subscribed or not); the Observable emits the
   * driver's `PublishResult` once the broker confirmed it (QoS 1/2) or it was written (QoS 0), then completes.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the signature of ClientProxy.emit(), whose result type users infer
  override emit<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    if (pattern === null || pattern === undefined || data === null || data === undefined) {
      return super.emit(pattern, data);
    }
    const result = this.dispatchEvent<TResult>(this.packetOf(pattern, data));
    // Nobody has to subscribe to an emit: its failure must not become an unhandled rejection (Nest's Subject too).
    result.catch(ignoreRejection);
    return from(result);
  }

  /**
   * The outgoing packet: Nest 12's `createPacket()` (which runs the `setOnDispatchHook()` hook) where it exists;
   * Nest 11's ClientProxy has neither, so there the packet is plain `{ pattern, data }`.
   */
  private packetOf(pattern: unknown, data: unknown): ReadPacket {
    const create = (this as unknown as { createPacket?: (pattern: unknown, data: unknown) => ReadPacket }).createPacket;
    return typeof create === 'function' ? create.call(this, pattern, data) : { pattern, data };
  }

  protected publish(packet: ReadPacket, callback: Callback): () => void {
    const pattern = () => this.normalizePattern(packet.pattern);
    return this.telemetry.send(this.client, pattern, callback, (cb) => this.publishRequest(packet, cb));
  }

  private publishRequest(packet: ReadPacket, callback: Callback): () => void {
    const id = this.ids.next();
    const pattern = this.normalizePattern(packet.pattern);
    if (!this.pending.add(id, pattern, callback, this.gate.drops)) return () => undefined;
    // Ours (MqttAsyncRecord) or Nest's MqttRecord: the data is the request, the options apply to its PUBLISH.
    const message = unwrapRecord(packet.data);
    const client = this.producer();
    if (client && this.gate.connected && !this.usesNestWire(client)) {
      this.sendNative(client, pattern, message, id);
      return () => this.pending.delete(id);
    }
    let release: (() => void) | undefined;
    let tornDown = false;
    this.connect()
      .then(async (connected) => {
        const timeout = this.options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
        await this.gate.whenConnected(`send('${pattern}')`, timeout, 'requestTimeout');
        if (!this.pending.has(id)) return; // expired, torn down or closed while offline: never sent
        release = await this.prepareReply(connected, pattern);
        if (tornDown) return;
        if (this.usesNestWire(connected)) await this.sendNestWire(connected, pattern, message, id);
        else this.sendNative(connected, pattern, message, id);
      })
      .catch((err) => this.pending.deliver(id, { err, isDisposed: true }))
      .finally(() => {
        if (tornDown) release?.();
      });
    return () => {
      tornDown = true;
      this.pending.delete(id);
      release?.();
      release = undefined;
    };
  }

  /** Nest wire format: subscribes `<topic>/reply` (shared, counted) before the request leaves. */
  private async prepareReply(client: MqttDriverClient, pattern: string): Promise<(() => void) | undefined> {
    if (!this.nestChannels || !this.usesNestWire(client)) return undefined;
    return this.nestChannels.hold(nestReplyTopic(pattern));
  }

  private async sendNestWire(client: MqttDriverClient, pattern: string, message: OutgoingMessage, id: string) {
    const encoded = await encodeRequest({ pattern, data: message.data, id }, this.codecs.nest);
    await client.publish(
      pattern,
      encoded.payload,
      publishOptionsOf(message.options, this.requestQos, encoded.contentType),
    );
  }

  /**
   * MQTT 5 request: bare payload, our Response Topic, the id as Correlation Data (those two win over a record's).
   * Failures end the request.
   */
  private sendNative(client: MqttDriverClient, pattern: string, message: OutgoingMessage, id: string): void {
    const fail = (err: unknown) => this.pending.deliver(id, { err, isDisposed: true });
    const publish = (encoded: EncodedPayload) => {
      const fixed: PublishProperties = { responseTopic: this.replyTopic, correlationData: Buffer.from(id) };
      const options = publishOptionsOf(message.options, this.requestQos, encoded.contentType, fixed);
      client.publish(pattern, encoded.payload, options).catch(fail);
    };
    try {
      const encoded = encodeRequest({ pattern, data: message.data, id }, this.codecs.native);
      if (isPromiseLike(encoded)) encoded.then(publish).catch(fail);
      else publish(encoded);
    } catch (err) {
      fail(err);
    }
  }

  /** See {@link EventPublisher}: settles within `publishTimeout`; QoS 0 fails at once while offline. */
  protected dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    return this.events.emit<T>(this.normalizePattern(packet.pattern), packet.data);
  }
}

inspectAs(
  ClientMqttAsync,
  (c) => `ClientMqttAsync { url: '${redactUrl((c as unknown as { options: { url: string } }).options.url)}' }`,
);
