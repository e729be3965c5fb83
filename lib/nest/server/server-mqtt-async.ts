import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import type { ClientStatus, MqttDriverClient, MqttMessage, PublishResult, Subscription } from '../../driver/index.js';
import { connect as driverConnect, MqttDisconnectedError, MqttSubscribeError } from '../../driver/index.js';
import { inspectAs } from '../../driver/inspect.js';
import { printable } from '../../driver/printable.js';
import { redactUrl } from '../../driver/transport/url.js';
import { describeError } from '../describe-error.js';
import { DriverLink } from '../driver-link.js';
import { connectFailure, MqttAsyncNotConnectedError, MqttAsyncServerClosedError } from '../errors.js';
import { listeningServers } from '../health/listening.js';
import type { MqttAsyncServerOptions } from '../options.js';
import { DEFAULT_CONNECT_ATTEMPTS, resolveReconnect } from '../reconnect.js';
import type { MqttAsyncRecordOptions } from '../record/mqtt-async.record.js';
import { MqttAsyncRouter, type SubscriptionGroup } from '../routing/router.js';
import { loadTelemetry } from '../telemetry/load.js';
import { dispatchTraced } from '../telemetry/server-hooks.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { AckSequencer, type AckTicket } from './ack-sequencer.js';
import { ackWatch } from './ack-watch.js';
import { consumeLoop } from './consume-loop.js';
import { checkDeadLetterTopic } from './dead-letter.js';
import { MessageDispatcher } from './dispatcher.js';
import { HandedOffPublisher } from './handed-off-publisher.js';
import { MessageSlot } from './retry.js';
import {
  type MqttAsyncRuntimeHandler,
  type MqttAsyncSubscribeOptions,
  type MqttAsyncSubscriptionHandle,
  RuntimeSubscriptions,
} from './runtime-subscriptions.js';
import { Semaphore } from './semaphore.js';
import type { MqttAsyncServerEvents } from './server-listeners.js';
import { ServerPublisher } from './server-publisher.js';
import { StopSignal } from './stop-signal.js';

export type { MessageHandledEvent, MqttAsyncServerEvents } from './server-listeners.js';

/**
 * Attempts of `listen()`'s first connection when the options set none, so it fails fast (with an error naming
 * the URL) when the broker is unreachable. Once connected, the server reconnects forever by default
 * (see {@link resolveReconnect}).
 */
export const DEFAULT_SERVER_CONNECT_ATTEMPTS = DEFAULT_CONNECT_ATTEMPTS;
const DEFAULT_SHUTDOWN_TIMEOUT = 10_000;

/**
 * A Nest microservice transport strategy on the nest-mqtt-async driver: topic params, most-specific routing,
 * ack control, MQTT 5 request/response and Nest's own MQTT wire format.
 *
 * ```ts
 * NestFactory.createMicroservice(AppModule, { strategy: new ServerMqttAsync({ url, protocolVersion: 5 }) });
 * ```
 * Defaults: handler QoS 1, concurrency 1, ack 'auto' (on receipt). Handlers with equal options share one
 * subscription, one `subscribe()` call and one concurrency pool; acks leave in receive order per subscription.
 * Own replies are never routed into handlers. `on('message:handled', cb)` fires once per received message after
 * its handlers settled and its replies and acks were handed to the driver.
 *
 * Failure behaviour (docs/failure-behaviour.md): every delivered message is settled in every ack mode, also when
 * it cannot be decoded or a guard/pipe/interceptor rejects it; `listen()` makes 3 connection attempts, then
 * reconnecting goes on forever (backoff capped at 5 s); a reconnect limit that runs out logs an ERROR, sets
 * `closeCause` and `process.exitCode = 1`.
 */
export class ServerMqttAsync extends Server<MqttAsyncServerEvents, ClientStatus> implements CustomTransportStrategy {
  override readonly transportId = Symbol.for('nest-mqtt-async');
  override propagatesEventHandlerErrors = true;
  /** @internal */ router = new MqttAsyncRouter<MessageHandler>();
  /** The driver client (`current`), its status/error forwarding and the `on()` listeners. */
  private readonly link = new DriverLink(
    {
      wired: () => {
        this.closeCause = undefined;
      },
      status: (status) => this._status$.next(status),
      error: (err) => {
        this.lastError = err;
        this.logger.error(`MQTT client error: ${describeError(err)}`);
      },
      gaveUp: () => this.stoppedByBroker(),
      closing: () => this.closing !== undefined,
    },
    () => this.logger,
  );
  private get mqttClient(): MqttDriverClient | undefined {
    return this.link.current;
  }
  private subscriptions: Subscription[] = [];
  private readonly running = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;
  private lastError: Error | undefined;
  /** Why the transport stopped on its own (status `closed` without `close()`): reconnecting gave up. */
  closeCause: Error | undefined;
  /** Aborted when `close()` starts: running reply streams (Observables) are unsubscribed then. */
  private closeSignal = new AbortController();
  private stopConsuming: () => void = () => {};
  private stopped: Promise<void> = Promise.resolve();
  private readonly dispatcher: MessageDispatcher;
  private readonly outbox: ServerPublisher;
  private readonly runtime: RuntimeSubscriptions;
  /** OpenTelemetry spans and metrics; undefined when `telemetry: false` or `@opentelemetry/api` is absent. */
  private telemetry: Telemetry | undefined;
  /** Replies and dead letters are handed to the driver without holding a handler slot until their PUBACK. */
  private readonly publisher = new HandedOffPublisher((err, topic) =>
    this.logger.error(`Publish to '${printable(topic)}' failed: ${describeError(err)}`),
  );

  constructor(readonly options: MqttAsyncServerOptions) {
    super();
    const self = this;
    this.dispatcher = new MessageDispatcher({
      get router() {
        return self.router;
      },
      options,
      logger: this.logger,
      client: () => {
        const client = this.unwrap();
        // Through the telemetry wrapper only while telemetry is active (see Telemetry.active).
        return this.publisher.wrap(this.telemetry?.active ? this.telemetry.wrap(client) : client);
      },
      protocolVersion: () => this.unwrap().protocolVersion,
      toObservable: (result) => this.transformToObservable(result),
      get closing() {
        return self.closeSignal.signal;
      },
      retrying: (pattern, attempt, delay, err) =>
        this.telemetry?.active && this.telemetry.retrying(pattern, attempt, delay, err),
    });
    this.runtime = new RuntimeSubscriptions({
      router: () => this.router,
      subscribe: (client, group) => this.subscribeGroup(client, group),
      consume: (group, sub, stop) => this.consume(group, sub, stop),
    });
    this.outbox = new ServerPublisher({
      options,
      producer: () => this.mqttClient && (this.telemetry?.wrap(this.mqttClient) ?? this.mqttClient),
      onStatus: (listener) => this.on('status', listener),
    });
  }

  /**
   * Handles `pattern` from now on (before `listen()`: from then on), for patterns known only at runtime: the
   * routing, options validation, acks and concurrency of decorated handlers, in a subscription of its own
   * (`unsubscribe()` leaves other handlers' subscriptions alone). See docs/publisher.md.
   * @throws MqttAsyncPatternError for an invalid pattern or options, or an RPC route overlapping another.
   */
  subscribe(
    pattern: string,
    handler: MqttAsyncRuntimeHandler,
    options?: MqttAsyncSubscribeOptions,
  ): Promise<MqttAsyncSubscriptionHandle> {
    return this.runtime.add(pattern, handler, options);
  }

  /**
   * Publishes through this server's own connection (what `MqttAsyncPublisher` calls): the
   * options, bounds and errors of `ClientMqttAsync.emit()` (see `MqttAsyncPublisher`, docs/publisher.md).
   */
  publish(topic: string, data: unknown, options?: MqttAsyncRecordOptions): Promise<PublishResult> {
    return this.outbox.publish(topic, data, options);
  }

  /**
   * Connects, subscribes every handler pattern (batched per options) and starts consuming. A connect failure is
   * the driver's `MqttConnectError` (reason code, socket `code` such as `ECONNREFUSED`) naming the redacted URL;
   * `close()` meanwhile aborts the attempts and fails it with `MqttAsyncServerClosedError`.
   */
  async listen(callback: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (err) {
      callback(err);
    }
  }

  private async start(): Promise<void> {
    this.closing = undefined;
    this.closeSignal = new AbortController();
    const { qos, ack, concurrency, group, retry } = this.options;
    this.router = new MqttAsyncRouter<MessageHandler>({ qos, ack, concurrency, group, retry });
    for (const [pattern, handler] of this.getHandlers()) {
      const kind = handler.isEventHandler ? '@EventPattern' : '@MessagePattern';
      this.router.add(pattern, handler, handler.isEventHandler === true, handler.extras, `${kind}('${pattern}')`);
    }
    checkDeadLetterTopic(this.options.deadLetterTopic, this.router);
    const connector = this.options.connector ?? driverConnect;
    this._status$.next('connecting');
    const closed = () => new MqttAsyncServerClosedError();
    this.telemetry = await loadTelemetry(this.options.telemetry, 'server', this.options.deadLetterTopic);
    const client = await connector(this.options.url, this.link.driverOptions(this.options)).catch((err: unknown) => {
      if (this.closing) throw closed(); // close() aborted the attempts
      this.link.current = undefined;
      this._status$.next('closed');
      throw connectFailure('ServerMqttAsync', this.options.url, err);
    });
    if (this.closing) {
      await client.disconnect().catch(() => undefined); // a connector that ignored the abort
      throw closed();
    }
    if (this.mqttClient !== client) this.link.wire(client); // a connector that does not call beforeConnect
    try {
      this.subscriptions = await Promise.all(this.router.groups().map((g) => this.subscribeGroup(client, g)));
      await this.runtime.listen(client);
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      throw this.closing ? closed() : err;
    }
    if (this.closing) throw closed();
    this._status$.next(client.status);
    this.telemetry?.observe(client);
    this.consumeAll();
    listeningServers.add(this);
  }

  /**
   * Reconnecting gave up (a `reconnect.maxAttempts` the user set ran out, a permanent refusal, or `reconnect:
   * false` and the link dropped): loud, never a quiet stop. ERROR log, `closeCause`, status `closed` (already
   * emitted), the driver's `error` event (already emitted), and exit code 1 for a process that then runs out of
   * work (a microservice-only app must not exit 0 as if it had finished).
   */
  private stoppedByBroker(): void {
    const cause = this.lastError ?? new MqttDisconnectedError('the connection closed');
    this.closeCause = cause;
    this.logger.error(
      `ServerMqttAsync stopped consuming: the connection to ${redactUrl(this.options.url)} is closed for good ` +
        `(${describeError(cause)}). No more messages are handled; restart the service, or leave reconnect.maxAttempts ` +
        'unset to reconnect forever',
    );
    process.exitCode ??= 1;
  }

  private async subscribeGroup(client: MqttDriverClient, group: SubscriptionGroup<MessageHandler>) {
    const o = group.options;
    const filters = this.router.subscribeFilters(group);
    const subscription = await client.subscribe(filters, {
      qos: o.qos,
      ack: 'manual',
      ...(o.noLocal !== undefined ? { noLocal: o.noLocal } : {}),
      ...(o.retainHandling !== undefined ? { retainHandling: o.retainHandling } : {}),
    });
    subscription.granted.forEach((code, i) => {
      if (code >= 0x80) {
        throw new MqttSubscribeError(
          `The broker refused the subscription '${filters[i]}' (reason code 0x${code.toString(16)}); check its ACL and shared-subscription support`,
          subscription.granted,
        );
      }
    });
    return subscription;
  }

  private consumeAll(): void {
    const stop = new StopSignal();
    this.stopConsuming = () => stop.stop();
    const groups = this.router.groups();
    this.stopped = Promise.all(this.subscriptions.map((sub, i) => this.consume(groups[i]!, sub, stop))).then(
      () => undefined,
    );
  }

  private async consume(group: SubscriptionGroup<MessageHandler>, sub: Subscription, stop: StopSignal) {
    const slots = new Semaphore(group.options.concurrency);
    const sequencer = new AckSequencer(
      (err) => this.logger.error(`Ack failed: ${describeError(err)}`),
      ackWatch(group.options, this.options, this.logger),
    );
    try {
      await consumeLoop(sub[Symbol.asyncIterator](), slots, stop, (message) =>
        this.handle(group, message, sequencer.enqueue(message), slots),
      );
    } catch (err) {
      // Reported now: kept in `stopped` for close(), the rejection went unobserved until then (an unhandled
      // rejection ends the process under Node's default) and close() rejected with it before disconnecting.
      this.logger.error(
        `Stopped consuming '${sub.filters.map((f) => printable(f)).join("', '")}': the subscription failed ` +
          `(${describeError(err)}); its messages are no longer handled, restart the service`,
      );
    } finally {
      sequencer.dispose();
    }
  }

  private handle(group: SubscriptionGroup<MessageHandler>, message: MqttMessage, ticket: AckTicket, slots: Semaphore) {
    const slot = new MessageSlot(slots);
    const finish = (error?: unknown, failed = false) => {
      slot.release();
      this.running.delete(work);
      if (failed) this.logger.error(`Message on '${printable(message.topic)}' failed: ${describeError(error)}`);
      else if (this.link.listeners.wantsHandled) this.link.listeners.emitHandled(message, error);
    };
    const dispatch = () => this.dispatcher.dispatch(group, message, ticket, slot);
    const telemetry = this.telemetry;
    let running: Promise<unknown>;
    try {
      running = telemetry?.active
        ? dispatchTraced(telemetry, this.router, this.unwrap(), group, message, dispatch)
        : dispatch();
    } catch (err) {
      running = Promise.reject(err);
    }
    const work: Promise<void> = running.then(
      (error) => finish(error),
      (err: unknown) => finish(err, true),
    );
    this.running.add(work);
  }

  /**
   * Stops taking messages, waits up to `shutdownTimeout` ms for running handlers (their replies and acks are
   * sent), then disconnects. Messages not yet taken stay unacknowledged, so the broker redelivers them.
   * Observable results are not waited for: their streams are unsubscribed at once, a requester gets a final
   * `MqttAsyncServerClosingError` reply (so a handler whose Observable never completes does not hold `close()`
   * for `shutdownTimeout`); Promise handlers still drain.
   * Prompt in every connection state: a `listen()` still connecting is aborted (`MqttAsyncServerClosedError`).
   */
  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    listeningServers.delete(this);
    this.stopConsuming();
    this.closeSignal.abort();
    await Promise.all([this.stopped, this.runtime.stop()]);
    const timeout = this.options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeout);
    });
    // Replies and dead letters wait for their confirmation only on a live link: offline, none can come.
    const drained = Promise.allSettled([...this.running]).then(() =>
      this.mqttClient?.status === 'connected' ? this.publisher.settled() : undefined,
    );
    const outcome = await Promise.race([drained, expired]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn?.(`close(): ${this.running.size} handler(s) still running after ${timeout} ms; disconnecting`);
    }
    const client = this.mqttClient;
    this.subscriptions = [];
    if (client) await client.disconnect().catch((err) => this.logger.error(`Disconnect failed: ${describeError(err)}`));
    this._status$.next('closed');
  }

  /** Registers a listener for a driver event or `message:handled`; works before `listen()`. */
  on<
    EventKey extends keyof MqttAsyncServerEvents = keyof MqttAsyncServerEvents,
    EventCallback extends MqttAsyncServerEvents[EventKey] = MqttAsyncServerEvents[EventKey],
  >(event: EventKey, callback: EventCallback): void {
    this.link.on(event as string, callback as unknown as (...args: unknown[]) => void);
  }

  /** The driver client (after `listen()`). */
  unwrap<T = MqttDriverClient>(): T {
    return this.link.unwrap<T>(
      () =>
        new MqttAsyncNotConnectedError(
          'disconnected',
          'ServerMqttAsync is not connected yet: call listen() (app.listen / startAllMicroservices) first',
        ),
    );
  }
}

inspectAs(ServerMqttAsync, (s) => `ServerMqttAsync { url: '${redactUrl(s.options.url)}' }`);
