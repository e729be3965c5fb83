import type * as Api from '@opentelemetry/api';
import type { MqttDriverClient, MqttMessage, PublishOptions, PublishResult } from '../../driver/index.js';
import { describeError } from '../describe-error.js';
import { type Fields, fieldsOf, withEnvelopeFields, withUserProperties } from './carrier.js';
import { type Instruments, instruments } from './metrics.js';

/** The instrumentation scope of our spans and metrics. */
export const TELEMETRY_SCOPE = 'nest-mqtt-async';

/** What a consumer span knows about the message it wraps (set on the context, read by replies). */
interface Consuming {
  readonly template: string;
}

type Role = 'server' | 'client';

/**
 * OpenTelemetry for one transport instance, built only when `@opentelemetry/api` is installed and `telemetry`
 * is not `false` (see `loadTelemetry`). Spans and metrics follow the messaging semantic conventions:
 * PRODUCER spans `publish <topic>` / `send <pattern>` / `reply <handler pattern>`, CONSUMER spans
 * `process <handler pattern>` around the Nest pipeline, trace context carried in the message.
 */
export class Telemetry {
  private readonly tracer: Api.Tracer;
  readonly metrics: Instruments;
  private readonly consumingKey: symbol;
  private readonly suppressKey: symbol;
  private readonly wrapped = new WeakMap<MqttDriverClient, MqttDriverClient>();
  /** What the API's global tracer provider delegates to while no SDK registered one. */
  private readonly noopTracerProvider: unknown;
  /** The meter is a real one: a MeterProvider was registered before this transport started. */
  private readonly metered: boolean;

  constructor(
    private readonly api: typeof Api,
    private readonly role: Role,
    private readonly deadLetterTopic?: string,
  ) {
    this.tracer = api.trace.getTracer(TELEMETRY_SCOPE);
    const meter = api.metrics.getMeter(TELEMETRY_SCOPE);
    this.metrics = instruments(meter);
    this.consumingKey = api.createContextKey('nest-mqtt-async consuming') as symbol;
    this.suppressKey = api.createContextKey('nest-mqtt-async producer span open') as symbol;
    this.noopTracerProvider = new api.ProxyTracerProvider().getDelegate();
    // The metrics API has no proxy: instruments made from the no-op meter stay no-op for good.
    this.metered = !(meter instanceof api.createNoopMeter().constructor);
  }

  /**
   * False while the app registered nothing (no tracer provider, no propagator, no meter provider): every span
   * would be a non-recording no-op, every metric dropped and nothing injected, so callers skip the telemetry
   * path altogether and the no-op providers cost nothing. Checked per message, so an SDK registered after the
   * transport started is picked up (tracing and propagation; metrics only from a provider registered before).
   */
  get active(): boolean {
    if (this.metered) return true;
    let provider: unknown = this.api.trace.getTracerProvider();
    if (provider instanceof this.api.ProxyTracerProvider) provider = provider.getDelegate();
    return provider !== this.noopTracerProvider || this.api.propagation.fields().length > 0;
  }

  private base(client: MqttDriverClient): Api.Attributes {
    return { 'messaging.system': 'mqtt', 'messaging.client.id': client.clientId };
  }

  /** Counts the client's reconnects and reports its connection state. */
  observe(client: MqttDriverClient): void {
    this.metrics.watch(client, this.role);
  }

  /** `client` whose `publish()` opens a PRODUCER span (unless one is open) and carries the trace context. */
  wrap(client: MqttDriverClient): MqttDriverClient {
    let proxy = this.wrapped.get(client);
    if (proxy) return proxy;
    const publish = (topic: string, payload: Uint8Array | string, options?: PublishOptions) =>
      this.publish(client, topic, payload, options);
    proxy = new Proxy(client, {
      get(target, property) {
        if (property === 'publish') return publish;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    this.wrapped.set(client, proxy);
    return proxy;
  }

  private publish(
    client: MqttDriverClient,
    topic: string,
    payload: Uint8Array | string,
    options?: PublishOptions,
  ): Promise<PublishResult> {
    if (!this.active) return client.publish(topic, payload, options);
    const { context, trace } = this.api;
    const active = context.active();
    const metricAttrs: Api.Attributes = { 'messaging.system': 'mqtt', 'messaging.operation.name': 'publish' };
    if (active.getValue(this.suppressKey)) {
      // send() opened the span already: only carry its context.
      this.metrics.sent.add(1, { ...metricAttrs, 'messaging.operation.name': 'send' });
      const [p, o] = this.carry(client, active, payload, options);
      return client.publish(topic, p, o);
    }
    const consuming = active.getValue(this.consumingKey) as Consuming | undefined;
    const props = options?.properties;
    const reply = consuming !== undefined && topic !== this.deadLetterTopic && isReply(topic, props);
    const operation = reply ? 'reply' : 'publish';
    const template = reply ? consuming.template : topic;
    const span = this.tracer.startSpan(
      `${operation} ${template}`,
      {
        kind: this.api.SpanKind.PRODUCER,
        attributes: {
          ...this.base(client),
          'messaging.operation.type': 'send',
          'messaging.operation.name': operation,
          'messaging.destination.name': topic,
          ...(reply ? { 'messaging.destination.template': template } : {}),
          'mqtt.qos': options?.qos ?? 0,
        },
      },
      active,
    );
    const spanContext = trace.setSpan(active, span);
    const attrs: Api.Attributes = { ...metricAttrs, 'messaging.operation.name': operation };
    if (reply) attrs['messaging.destination.template'] = template;
    else if (topic === this.deadLetterTopic) this.metrics.deadLetters.add(1, { 'messaging.destination.name': topic });
    this.metrics.sent.add(1, attrs);
    const [p, o] = this.carry(client, spanContext, payload, options);
    let sent: Promise<PublishResult>;
    try {
      sent = client.publish(topic, p, o);
    } catch (err) {
      this.fail(span, err);
      span.end();
      throw err;
    }
    return sent.then(
      (result) => {
        span.end();
        return result;
      },
      (err: unknown) => {
        this.fail(span, err);
        span.end();
        throw err;
      },
    );
  }

  /**
   * A failed handler try will be tried again after `delayMs`: a `retry` event on the message's CONSUMER span (one
   * span covers every try of a message) and `nest_mqtt_async.retries`, by handler pattern.
   */
  retrying(pattern: string, attempt: number, delayMs: number, error: unknown): void {
    const type = errorType(error);
    this.api.trace.getActiveSpan()?.addEvent('retry', {
      'nest_mqtt_async.attempt': attempt,
      'nest_mqtt_async.retry.delay_ms': delayMs,
      'error.type': type,
    });
    this.metrics.retries.add(1, { 'messaging.destination.template': pattern, 'error.type': type });
  }

  /** Injects the propagator's fields for `ctx` into the publish (user properties, or the 3.1.1 envelope). */
  private carry(
    client: MqttDriverClient,
    ctx: Api.Context,
    payload: Uint8Array | string,
    options: PublishOptions | undefined,
  ): [Uint8Array | string, PublishOptions | undefined] {
    const fields: Fields = {};
    this.api.propagation.inject(ctx, fields);
    if (Object.keys(fields).length === 0) return [payload, options];
    if (client.protocolVersion === 5) return [payload, withUserProperties(options, fields)];
    return [withEnvelopeFields(payload, fields), options];
  }

  /**
   * Runs `dispatch` inside a CONSUMER span `process <template>` that is the child of the producer's context in
   * the message (a new trace when it has none), from receipt until the message was settled.
   */
  consume<T>(
    client: MqttDriverClient,
    message: MqttMessage,
    template: string,
    group: string | undefined,
    dispatch: () => Promise<T>,
  ): Promise<T> {
    const { context, propagation, trace } = this.api;
    const fields = fieldsOf(message, propagation.fields(), client.protocolVersion === 4);
    const parent = fields ? propagation.extract(this.api.ROOT_CONTEXT, fields) : this.api.ROOT_CONTEXT;
    const attributes: Api.Attributes = {
      ...this.base(client),
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': message.topic,
      'messaging.destination.template': template,
      'mqtt.qos': message.qos,
    };
    if (group !== undefined) attributes['messaging.consumer.group.name'] = group;
    const span = this.tracer.startSpan(`process ${template}`, { kind: this.api.SpanKind.CONSUMER, attributes }, parent);
    const consuming: Consuming = { template };
    const ctx = trace.setSpan(parent, span).setValue(this.consumingKey, consuming);
    const started = performance.now();
    const metricAttrs: Api.Attributes = {
      'messaging.system': 'mqtt',
      'messaging.operation.name': 'process',
      'messaging.destination.template': template,
    };
    if (group !== undefined) metricAttrs['messaging.consumer.group.name'] = group;
    this.metrics.consumed.add(1, metricAttrs);
    this.metrics.awaitingAck.add(1, metricAttrs);
    const done = (error: unknown) => {
      this.metrics.awaitingAck.add(-1, metricAttrs);
      const attrs = error === undefined ? metricAttrs : { ...metricAttrs, 'error.type': errorType(error) };
      if (error !== undefined) this.fail(span, error);
      span.end();
      this.metrics.processDuration.record((performance.now() - started) / 1000, attrs);
    };
    return context.with(ctx, dispatch).then(
      (result) => {
        done(result);
        return result;
      },
      (err: unknown) => {
        done(err);
        throw err;
      },
    );
  }

  /**
   * Opens the PRODUCER span of one `send()`, lasting until its final reply; `run` executes inside it (the request
   * publish carries its context). The returned function ends it, with the error when the request failed.
   */
  send(client: MqttDriverClient | undefined, pattern: string, run: () => void): (error?: unknown) => void {
    const { context, trace } = this.api;
    const active = context.active();
    const span = this.tracer.startSpan(
      `send ${pattern}`,
      {
        kind: this.api.SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'mqtt',
          ...(client ? { 'messaging.client.id': client.clientId } : {}),
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': pattern,
        },
      },
      active,
    );
    const started = performance.now();
    let ended = false;
    context.with(trace.setSpan(active, span).setValue(this.suppressKey, true), run);
    return (error?: unknown) => {
      if (ended) return;
      ended = true;
      const attrs: Api.Attributes = {
        'messaging.system': 'mqtt',
        'messaging.operation.name': 'send',
        'messaging.destination.name': pattern,
      };
      if (error !== undefined) {
        this.fail(span, error);
        attrs['error.type'] = errorType(error);
        if (errorType(error) === 'MqttAsyncRequestTimeoutError') this.metrics.requestTimeouts.add(1, attrs);
      }
      span.end();
      this.metrics.operationDuration.record((performance.now() - started) / 1000, attrs);
    };
  }

  /**
   * Runs `fn` outside any trace: a connection opened inside a request's span would otherwise carry that span
   * (and its "span already open" mark) into every socket callback, for as long as the connection lives.
   */
  detached<T>(fn: () => T): T {
    return this.api.context.with(this.api.ROOT_CONTEXT, fn);
  }

  private fail(span: Api.Span, error: unknown): void {
    const exception = error instanceof Error ? error : new Error(describeError(error));
    span.recordException(exception);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: exception.message });
    span.setAttribute('error.type', errorType(error));
  }
}

/** A reply: MQTT 5 Correlation Data without a Response Topic, or Nest's `<topic>/reply`. */
function isReply(topic: string, props: PublishOptions['properties']): boolean {
  if (props?.correlationData !== undefined && props.responseTopic === undefined) return true;
  return topic.endsWith('/reply');
}

function errorType(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor.name;
  return '_OTHER';
}
