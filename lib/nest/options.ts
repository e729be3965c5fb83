import type { Deserializer, Serializer } from '@nestjs/microservices';
import type { Connector, MqttClientOptions, QoS, RetainHandling } from '../driver/index.js';
import type { MqttAsyncContext } from './context/mqtt-async.context.js';

/** Options shared by `ServerMqttAsync` and `ClientMqttAsync`: the driver's options plus the broker URL. */
export interface MqttAsyncTransportOptions extends MqttClientOptions {
  /** Broker URL: `mqtt://host:1883`, `mqtts://host:8883`, `ws://host/mqtt` or `wss://host/mqtt`. */
  url: string;
  /** Creates the driver client; defaults to the driver's `connect`. The in-memory test broker supplies its own. */
  connector?: Connector;
  serializer?: Serializer;
  deserializer?: Deserializer;
  /**
   * Use the built-in Nest MQTT wire format (`{pattern,data,id}` → `<topic>/reply`) for RPC, so Nest's
   * `ClientMqtt`/`ServerMqtt` interoperate. Always on for protocolVersion 4; opt-in on 5.
   */
  nestWireFormat?: boolean;
  /**
   * OpenTelemetry traces and metrics (default on when `@opentelemetry/api` is installed; the app's registered
   * providers decide where they go, the API's no-op providers cost next to nothing). `false` turns them off.
   */
  telemetry?: boolean;
}

export type HandlerAckMode = 'auto' | 'after' | 'manual';

/** What happens to a manual-ack message still unsettled after `ackTimeout`: a WARN only, or a WARN and a nack. */
export type AckTimeoutAction = 'warn' | 'nack';

/**
 * In-process retries of a failing `@EventPattern` handler while its message stays unacknowledged; after the last
 * attempt the message is dead-lettered (with `deadLetterTopic`) and settled. See docs/retries.md.
 */
export interface MqttAsyncRetryOptions {
  /** Tries in all, the first one included: an integer from 1 (no retry) to 100. */
  attempts: number;
  /** Milliseconds before the second try (default 1000). */
  delay?: number;
  /** `'exponential'` (default): delay, 2 × delay, 4 × delay, ... up to `maxDelay`; `'fixed'`: delay each time. */
  backoff?: 'fixed' | 'exponential';
  /** Longest single delay in ms (default the larger of `delay` and 30_000; at most 3_600_000). */
  maxDelay?: number;
  /** Waits a random time between half and all of each delay, so failed messages do not retry in step (default false). */
  jitter?: boolean;
  /**
   * Whether an error is worth another try (default {@link retryableByDefault}: not for 4xx client errors,
   * validation errors or guard refusals). `MqttAsyncNonRetryableError` is never retried, whatever this says.
   */
  retryable?: (err: unknown) => boolean;
}

/** Per-handler options, given as the second argument of `@MessagePattern` / `@EventPattern` (Nest `extras`). */
export interface MqttAsyncHandlerOptions {
  /** Subscription QoS (default: the server's `qos`, else 1). */
  qos?: QoS;
  /**
   * Shared subscription group: subscribes `$share/<group>/<filter>` (`'$queue'`: EMQX's `$queue/<filter>`).
   * Default: the server's `group`; `false` opts this handler out of it (every instance gets every message).
   */
  shared?: string | false;
  /** Messages handled at once by this handler (default: the server's `concurrency`, else 1: in order). */
  concurrency?: number;
  /**
   * auto: ack on receipt; after: when the handler settles; manual: `ctx.ack()` / `ctx.nack()`.
   * Default: the server's `ack`, else 'auto'.
   */
  ack?: HandlerAckMode;
  noLocal?: boolean;
  retainHandling?: RetainHandling;
  /**
   * `ack: 'manual'`: milliseconds a received message may stay unsettled before a WARN names its topic, its age
   * and the acks waiting behind it (default: the server's `ackTimeout`, 30_000; 0 turns the watch off).
   */
  ackTimeout?: number;
  /** After `ackTimeout`: `'warn'` (default) keeps waiting for `ctx.ack()`; `'nack'` settles it (0x80 on MQTT 5). */
  onAckTimeout?: AckTimeoutAction;
  /**
   * `@EventPattern` only: retry a failing handler before the message is dead-lettered and settled (default: the
   * server's `retry`, else one attempt); `false` opts out of the server's default. See docs/retries.md.
   */
  retry?: MqttAsyncRetryOptions | false;
}

/** Server-wide defaults of the handler options: what a handler gets unless its own options say otherwise. */
export interface MqttAsyncHandlerDefaults {
  /** Subscription QoS of every handler (default 1); the built-in transport's `subscribeOptions: { qos }`. */
  qos?: QoS;
  /** Ack mode of every handler (default 'auto'). */
  ack?: HandlerAckMode;
  /** Concurrency of every handler (default 1). */
  concurrency?: number;
  /**
   * Makes every handler a member of this shared subscription group (`$share/<group>/<filter>`), unless it names
   * its own (`shared: 'other'`, a `$share/...` pattern) or opts out (`shared: false`). Without it, N instances of a
   * service each receive every message: every `@MessagePattern` request runs N times and is answered N times.
   */
  group?: string;
  /** Retries of every `@EventPattern` handler that sets none (default: none, one attempt). See docs/retries.md. */
  retry?: MqttAsyncRetryOptions;
}

export interface MqttAsyncServerOptions extends MqttAsyncTransportOptions, MqttAsyncHandlerDefaults {
  /** Republish events whose payload or validation failed here, with the error in user properties. */
  deadLetterTopic?: string;
  /** Milliseconds `close()` waits for running handlers before disconnecting (default 10_000). */
  shutdownTimeout?: number;
  /** Default `ackTimeout` of `ack: 'manual'` handlers in ms (default 30_000; 0 turns the watch off). */
  ackTimeout?: number;
  /** Default `onAckTimeout` of `ack: 'manual'` handlers (default `'warn'`). */
  onAckTimeout?: AckTimeoutAction;
  /**
   * Topic filters a `@MessagePattern` may reply to (the request's MQTT 5 Response Topic); a request whose Response
   * Topic matches none is not run and gets no reply (a rate-limited warning is logged). Default: any topic except
   * `$…` ones and those this service's own handlers subscribe to. See "Threat model" in the security docs.
   */
  responseTopics?: string[];
  /** Last check of a Response Topic that passed the others: return true to reply there. */
  allowResponseTopic?: (topic: string, ctx: MqttAsyncContext) => boolean;
  /**
   * Milliseconds a `MqttAsyncPublisher.publish()` / `server.publish()` may take to settle
   * (default 30_000), as `ClientMqttAsync`'s `publishTimeout`: the broker's confirmation at QoS 1/2, including any
   * wait for the connection while reconnecting (then never sent; `MqttAsyncNotConnectedError`).
   */
  publishTimeout?: number;
  /**
   * QoS 1/2 publishes of the server's publisher that may wait at once for the connection while it is down
   * (default 10_000); more fail at once with `MqttAsyncNotConnectedError`.
   */
  offlineQueueSize?: number;
}

export interface MqttAsyncClientOptions extends MqttAsyncTransportOptions {
  /** Default QoS of `emit()` (default 1). `send()` uses {@link requestQos}. */
  qos?: QoS;
  /**
   * QoS of `send()` requests and so of their replies (default 0). A request already has an end-to-end
   * acknowledgement, its reply or `requestTimeout`; QoS 1 adds a broker hop ack that doubles the packets per round
   * trip, can run a command twice when the broker redelivers it, can queue it for an offline server until nobody
   * waits for the answer, and, against a broker with Nagle on (mosquitto's default), stalls a lone caller about
   * 40 ms per call. Set 1 for requests that must survive a server reconnect, with idempotent handlers.
   */
  requestQos?: QoS;
  /**
   * Milliseconds a `send()` waits for its final reply (default 30_000), including any wait for the connection
   * while the client is reconnecting (it is then never sent; `MqttAsyncNotConnectedError`).
   */
  requestTimeout?: number;
  /**
   * Milliseconds an `emit()` may take to settle (default 30_000): the broker's confirmation at QoS 1/2, including
   * any wait for the connection while reconnecting (then never sent; `MqttAsyncNotConnectedError`). A confirmation
   * missing on a live connection fails with `MqttAsyncPublishTimeoutError`.
   */
  publishTimeout?: number;
  /**
   * `send()`s and QoS 1/2 `emit()`s that may wait at once for the connection while it is down (default 10_000);
   * more fail at once with `MqttAsyncNotConnectedError`.
   */
  offlineQueueSize?: number;
}

/**
 * What goes down to the driver: the one allow-list of `ServerMqttAsync` and `ClientMqttAsync`. Every driver client
 * option is listed (the `Record` makes a new `MqttClientOptions` field a compile error here until it is), and only
 * those: the Nest layer's own options (`url`, `connector`, serializers, handler defaults, timeouts...) stay up here.
 */
const DRIVER_OPTIONS: Record<keyof MqttClientOptions, true> = {
  protocolVersion: true,
  clientId: true,
  keepalive: true,
  cleanStart: true,
  sessionExpiryInterval: true,
  username: true,
  password: true,
  credentials: true,
  will: true,
  receiveMaximum: true,
  receiveMaximumTolerance: true,
  maximumPacketSize: true,
  maxUserProperties: true,
  topicAliasMaximum: true,
  userProperties: true,
  connectProperties: true,
  connectTimeout: true,
  reconnect: true,
  unroutedBufferSize: true,
  maxPendingRequests: true,
  transport: true,
  beforeConnect: true,
  tls: true,
  webSocket: true,
  auth: true,
};

/** The driver client options among `options` (those set), by {@link DRIVER_OPTIONS}. */
export function driverOptionsOf(options: MqttAsyncTransportOptions): MqttClientOptions {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(DRIVER_OPTIONS, key)) picked[key] = options[key as keyof MqttClientOptions];
  }
  return picked as MqttClientOptions;
}
