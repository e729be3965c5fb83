import type { Connector, MqttClientOptions, MqttDriverClient, QoS, UserProperty } from '../driver/index.js';
import { MqttTimeoutError, type PublishProperties, topicMatches } from '../driver/index.js';
import {
  ClientMqttAsync,
  encodeMqttPayload,
  type MqttAsyncClientOptions,
  type MqttAsyncServerOptions,
  ServerMqttAsync,
} from '../nest/index.js';
import { MemoryBroker, type MemoryConnectOptions } from './memory-broker.js';
import type { MemoryMessage } from './memory-message.js';
import { realTimers } from './real-timers.js';
import {
  matching,
  type PublishedRecord,
  type RecordFilter,
  toPublishedRecord,
  toUnackedRecord,
  type UnackedRecord,
} from './records.js';
import { rpcRequest } from './rpc.js';
import { SettleTracker } from './settle-tracker.js';

/** The URL the in-memory clients report; nothing listens on it. */
export const MEMORY_BROKER_URL = 'mqtt://in-memory.nest-mqtt-async.test:1883';

export interface MqttAsyncTestBrokerOptions {
  /** MQTT version the broker speaks: 5 (default, also accepts 3.1.1 clients) or 4 (3.1.1 only). */
  protocolVersion?: 4 | 5;
  /**
   * Milliseconds `publish()` / `request()` wait for handlers to settle before failing (default
   * {@link DEFAULT_SETTLE_TIMEOUT}: below the 5 s a test runner commonly allows a test, so a stalled handler
   * fails the test with a broker error naming its topic, not with the runner's timeout).
   */
  settleTimeout?: number;
  /** Records `published()` keeps; the oldest go first (default 10,000). */
  maxRecords?: number;
  /** QoS 1/2 messages kept for an absent persistent session; later ones are dropped (default 1000, as mosquitto). */
  maxQueuedMessages?: number;
}

/** Options of `broker.publish()`. Payloads are encoded like `ClientMqttAsync.emit()` encodes them. */
export interface TestPublishOptions {
  /** Default 1. */
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 user properties (dropped on a 3.1.1 broker, as on the wire). */
  userProperties?: Record<string, string> | UserProperty[];
  /** MQTT 5 properties (Response Topic, Correlation Data, Content Type, ...); dropped on 3.1.1. */
  properties?: PublishProperties;
}

/** Options of `broker.request()`. */
export interface TestRequestOptions {
  qos?: QoS;
  /** Milliseconds to wait for the final reply (default 5000). */
  timeout?: number;
  userProperties?: Record<string, string> | UserProperty[];
  /**
   * 'mqtt5': Response Topic + Correlation Data (default on MQTT 5; on 3.1.1 it fails as the real driver does).
   * 'nest': Nest's MQTT wire format `{pattern,data,id}` → `<topic>/reply` (default on 3.1.1).
   */
  wire?: 'mqtt5' | 'nest';
}

/** Default `settleTimeout` in ms (below Jest's and Vitest's default 5 s test timeout). */
export const DEFAULT_SETTLE_TIMEOUT = 3000;

const HARNESS_CLIENT_ID = 'nest-mqtt-async-test-broker';

function toUserProperties(value: Record<string, string> | UserProperty[] | undefined): UserProperty[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : Object.entries(value);
}

/**
 * An in-memory MQTT broker for tests of Nest apps that use nest-mqtt-async. Servers and clients made by
 * `createServer()` / `createClient()` are the real `ServerMqttAsync` / `ClientMqttAsync` on in-memory driver
 * clients: routing, params, acks, serialization and RPC run the production code path. No sockets, no ports.
 *
 * ```ts
 * const broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
 * const app = moduleRef.createNestMicroservice({ strategy: broker.createServer() });
 * await app.listen();
 * await broker.publish('temperature-sensors/t1/temperature', 21.5); // resolves when the handlers settled
 * ```
 */
export class MqttAsyncTestBroker {
  readonly protocolVersion: 4 | 5;
  readonly url = MEMORY_BROKER_URL;
  private readonly settle = new SettleTracker();
  private readonly core: MemoryBroker;
  private readonly log: PublishedRecord[] = [];
  private readonly waiters = new Set<(record: PublishedRecord) => void>();
  private readonly servers: ServerMqttAsync[] = [];
  private readonly clients: ClientMqttAsync[] = [];
  private readonly drivers: MqttDriverClient[] = [];
  private harness: Promise<MqttDriverClient> | undefined;
  private closing: Promise<void> | undefined;
  private readonly settleTimeout: number;
  private readonly maxRecords: number;

  constructor(options: MqttAsyncTestBrokerOptions = {}) {
    this.protocolVersion = options.protocolVersion ?? 5;
    this.settleTimeout = options.settleTimeout ?? DEFAULT_SETTLE_TIMEOUT;
    this.maxRecords = options.maxRecords ?? 10_000;
    this.core = new MemoryBroker(
      this.protocolVersion,
      {
        published: (p) => {
          this.settle.touched();
          const record = toPublishedRecord(p);
          this.log.push(record);
          if (this.log.length > this.maxRecords) this.log.shift();
          for (const w of [...this.waiters]) w(record);
        },
        delivered: (client, message) => this.settle.delivered(client, message),
        clientClosed: (client) => this.settle.clientClosed(client),
      },
      options.maxQueuedMessages,
    );
  }

  /**
   * A `Connector` (the `connector` option of `ServerMqttAsync` / `ClientMqttAsync`) whose clients live on this
   * broker. Use it for transports built by hand; `createServer()` / `createClient()` set it for you.
   */
  readonly connector: Connector = async (_url, options) => this.connect(options);

  /** A raw driver client on this broker (the `MqttDriverClient` interface of `nest-mqtt-async/driver`). */
  async connect(options: MqttClientOptions = {}): Promise<MqttDriverClient> {
    const client = this.core.connect({ protocolVersion: this.protocolVersion, ...options });
    this.drivers.push(client);
    return client;
  }

  private readonly trackedConnector: Connector = async (_url, options) =>
    this.core.connect({ protocolVersion: this.protocolVersion, ...options, track: true } as MemoryConnectOptions);

  /** A `ServerMqttAsync` on this broker; same options as the real one, `url` optional. */
  createServer(options: Partial<MqttAsyncServerOptions> = {}): ServerMqttAsync {
    const server = new ServerMqttAsync({
      protocolVersion: this.protocolVersion,
      ...options,
      url: options.url ?? this.url,
      connector: this.trackedConnector,
    });
    server.on('message:handled', (event) => this.settle.handled(event.message as MemoryMessage));
    this.servers.push(server);
    return server;
  }

  /** A `ClientMqttAsync` on this broker; same options as the real one, `url` optional. */
  createClient(options: Partial<MqttAsyncClientOptions> = {}): ClientMqttAsync {
    const client = new ClientMqttAsync({
      protocolVersion: this.protocolVersion,
      ...options,
      url: options.url ?? this.url,
      connector: this.connector,
    });
    this.clients.push(client);
    return client;
  }

  private client(): Promise<MqttDriverClient> {
    this.harness ??= Promise.resolve(
      this.core.connect({ protocolVersion: this.protocolVersion, clientId: HARNESS_CLIENT_ID }),
    );
    return this.harness;
  }

  /**
   * Publishes like `ClientMqttAsync.emit()` (objects as JSON, strings as UTF-8, bytes untouched) and resolves once
   * every handler it triggered — and every handler those triggered in turn — has settled.
   */
  async publish(topic: string, payload: unknown, options: TestPublishOptions = {}): Promise<void> {
    const client = await this.client();
    const { payload: bytes, contentType } = encodeMqttPayload(payload);
    const properties: PublishProperties = { ...(contentType ? { contentType } : {}), ...options.properties };
    const userProperties = toUserProperties(options.userProperties);
    if (userProperties) properties.userProperties = [...(properties.userProperties ?? []), ...userProperties];
    await client.publish(topic, bytes, { qos: options.qos ?? 1, retain: options.retain ?? false, properties });
    await this.settled();
  }

  /**
   * Sends a request and resolves with the reply value (the last one, for handlers that stream). An error reply
   * rejects with `MqttAsyncRpcError` carrying the server's error object. MQTT 5 by default; a 3.1.1 broker uses
   * Nest's wire format, the only request/response a 3.1.1 server understands.
   */
  async request<T = unknown>(topic: string, payload: unknown, options: TestRequestOptions = {}): Promise<T> {
    const client = await this.client();
    const userProperties = toUserProperties(options.userProperties);
    const result = await rpcRequest(client, topic, payload, {
      wire: options.wire ?? (this.protocolVersion === 5 ? 'mqtt5' : 'nest'),
      ...(options.qos !== undefined ? { qos: options.qos } : {}),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(userProperties ? { userProperties } : {}),
    });
    await this.settled();
    return result as T;
  }

  /** Resolves when no delivered message is waiting for a handler of a server made by `createServer()`. */
  settled(timeout = this.settleTimeout): Promise<void> {
    return this.settle.idle(timeout);
  }

  /** Every PUBLISH the broker accepted since the start or the last `clear()`, optionally filtered. */
  published(filter?: RecordFilter<PublishedRecord>): PublishedRecord[] {
    return matching(this.log, filter);
  }

  /** The first matching PUBLISH since the last `clear()`, waiting for it up to `timeout` ms (default 5000). */
  waitFor(filter: RecordFilter<PublishedRecord>, options: { timeout?: number } = {}): Promise<PublishedRecord> {
    const found = matching(this.log, filter)[0];
    if (found) return Promise.resolve(found);
    const timeout = options.timeout ?? 5000;
    return new Promise((resolve, reject) => {
      const waiter = (record: PublishedRecord) => {
        if (matching([record], filter).length === 0) return;
        done();
        resolve(record);
      };
      const timer = realTimers.setTimeout(() => {
        done();
        const what = typeof filter === 'string' ? `on '${filter}'` : 'matching the predicate';
        reject(new MqttTimeoutError(`No message ${what} was published within ${timeout} ms`));
      }, timeout);
      const done = () => {
        realTimers.clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** QoS 1/2 messages delivered to a client and not acknowledged, e.g. by a manual-ack handler that never acks. */
  unacked(filter?: RecordFilter<UnackedRecord>): UnackedRecord[] {
    return matching(this.core.unacked().map(toUnackedRecord), filter);
  }

  /** Retained messages the broker holds, optionally filtered. */
  retained(filter?: string): PublishedRecord[] {
    const all = this.core.retainedMessages().map(toPublishedRecord);
    return filter === undefined ? all : all.filter((r) => topicMatches(filter, r.topic));
  }

  /** Forgets the published-message log (retained messages, sessions and unacked messages stay). */
  clear(): void {
    this.log.length = 0;
  }

  /** Closes every server and client it created, then disconnects everything. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** `await using broker = new MqttAsyncTestBroker()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async shutdown(): Promise<void> {
    await Promise.allSettled(this.servers.map((s) => s.close()));
    await Promise.allSettled(this.clients.map((c) => c.close()));
    const harness = await this.harness;
    await harness?.disconnect();
    await Promise.allSettled(this.drivers.map((d) => d.disconnect()));
    this.core.close();
  }
}
