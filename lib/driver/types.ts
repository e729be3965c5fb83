import type {
  AckProperties,
  ConnackProperties,
  ConnectProperties,
  DisconnectProperties,
  ProtocolVersion,
  PublishProperties,
  QoS,
  RetainHandling,
  UserProperty,
  WillProperties,
} from './codec/packets.js';

/**
 * Lifecycle of a driver client, reported by `client.status` and the `status` event:
 * - `connecting`: the first connection is being made (before `connect()` resolves);
 * - `connected`: CONNACK accepted the session; packets flow;
 * - `disconnected`: the link just went down (lost, refused by the server's DISCONNECT, or closed by
 *   `disconnect()`). The `disconnect` event is emitted in this state; next comes `reconnecting` (reconnect on)
 *   or `closed` (reconnect off, `disconnect()` called). Nothing is sent in it; QoS 1/2 publishes are queued;
 * - `reconnecting`: connection attempts with backoff are running (including the waits between them);
 * - `closed`: final — the client was disconnected on purpose, the link was lost with `reconnect: false`, or
 *   reconnecting gave up. Everything pending was rejected.
 *
 * Sequences: a cut with reconnect `connected → disconnected → reconnecting → connected`; with `reconnect: false`
 * `connected → disconnected → closed`; `disconnect()` `connected → disconnected → closed`.
 */
export type ClientStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/** Exponential backoff with jitter between reconnect attempts. */
export interface ReconnectOptions {
  /** First delay in ms (default 100). */
  initialDelay?: number;
  /** Upper bound of a delay in ms (default 30_000). */
  maxDelay?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction of each delay drawn at random, 0–1 (default 0.2). */
  jitter?: number;
  /** Attempts before the client gives up and closes (default Infinity). Also bounds the first connect. */
  maxAttempts?: number;
  /**
   * Attempts of the first connection (`connect()`) before it rejects (default `maxAttempts`): a service can fail
   * fast at startup and still reconnect forever once it was connected.
   */
  connectAttempts?: number;
}

export interface WillOptions {
  topic: string;
  payload: Uint8Array | string;
  qos?: QoS;
  retain?: boolean;
  properties?: WillProperties;
}

/** A duplex byte stream to a broker; `net.Socket` and `tls.TLSSocket` fit as they are. */
export interface MqttTransportStream {
  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean;
  end(): unknown;
  destroy(err?: Error): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'drain' | 'close' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  readonly writableLength?: number;
}

/** Opens a connected stream for a broker URL; used for every (re)connect. */
export type TransportFactory = (url: URL, options: MqttClientOptions) => Promise<MqttTransportStream>;

export interface MqttClientOptions {
  /** 5 (default) or 4 (MQTT 3.1.1). */
  protocolVersion?: ProtocolVersion;
  /** Empty: the broker assigns one (MQTT 5), reused on reconnect. */
  clientId?: string;
  /** Keep Alive in seconds (default 60; 0 disables). The server's Server Keep Alive wins. */
  keepalive?: number;
  /** Start a new session (default true). */
  cleanStart?: boolean;
  /** MQTT 5 Session Expiry Interval in seconds (default 0). */
  sessionExpiryInterval?: number;
  username?: string;
  password?: string | Uint8Array;
  /** Called before every (re)connect; lets a token be refreshed. Its result overrides username/password. */
  credentials?: () => Promise<{ username?: string; password?: string | Uint8Array }>;
  will?: WillOptions;
  /** Receive Maximum we advertise (default 65535). */
  receiveMaximum?: number;
  /**
   * Unacknowledged QoS 1/2 PUBLISHes accepted beyond `receiveMaximum` before we DISCONNECT with 0x93. Default
   * 65535, which in effect never cuts (a server cannot have more packet ids in flight); 0 = strictly as the spec
   * says. Why lenient: mosquitto 2.0 ignores a client's Receive Maximum when it resumes a session with queued
   * messages (it sends the queue at once, measured: 2,000 in flight against a Receive Maximum of 20) and does it
   * again after each reconnect, so strict enforcement cuts every such session. Messages held this way are never
   * acknowledged before the application reads them (docs/hardening.md, "Backpressure policy").
   */
  receiveMaximumTolerance?: number;
  /** Maximum Packet Size we advertise and enforce on inbound packets. */
  maximumPacketSize?: number;
  /**
   * User properties accepted on one inbound PUBLISH (default 1000). A PUBLISH with more is not delivered: it is
   * acknowledged with 0x83 (Implementation specific error; MQTT 5 only has user properties) and reported as an
   * `'error'` event, so a flood of properties costs its decode time and no more.
   */
  maxUserProperties?: number;
  /** Topic Alias Maximum we accept from the server (default 0: none). */
  topicAliasMaximum?: number;
  /** User properties sent on CONNECT. */
  userProperties?: Record<string, string> | UserProperty[];
  /** Extra CONNECT properties (authentication method/data, request response information, ...). */
  connectProperties?: ConnectProperties;
  /** Milliseconds to wait for CONNACK (default 30_000). */
  connectTimeout?: number;
  /** `false` disables reconnecting. Default on. */
  reconnect?: false | ReconnectOptions;
  /**
   * QoS 0 messages held for a resumed session before a matching subscription exists (default 1000; more are
   * dropped). QoS 1/2 messages are held unacknowledged, at most `receiveMaximum + receiveMaximumTolerance` across
   * reconnects (one more is a 0x93 protocol error). A session the broker did not resume drops them all.
   */
  unroutedBufferSize?: number;
  /**
   * Concurrent `request()` calls allowed (default 10_000), counted from the call until it settles; one more
   * rejects at once with `MqttPublishError` 0x97 (Quota exceeded) and sends nothing.
   */
  maxPendingRequests?: number;
  /** Plugs in another transport (WebSocket, a test proxy, ...). */
  transport?: TransportFactory;
  /**
   * Called with the client before its first connection attempt, so listeners attached here also see what
   * `connect()` itself goes through (its retries' `reconnecting`, `status` changes, the first `connect`).
   */
  beforeConnect?: (client: MqttDriverClient) => void;
  /** Node `tls.connect` options for `mqtts://` and `wss://` (ca, cert, key, servername, rejectUnauthorized, ...). */
  tls?: Record<string, unknown>;
  /** `ws://` / `wss://` settings: WebSocket implementation, handshake headers, write high-water mark. */
  webSocket?: WebSocketOptions;
  /** MQTT 5 enhanced authentication (AUTH exchange during CONNECT), e.g. SCRAM or a challenge/response. */
  auth?: EnhancedAuthOptions;
}

/** The WHATWG WebSocket surface the `ws://` transport uses; Node's global `WebSocket` and `ws` both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly protocol: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  // biome-ignore lint/suspicious/noExplicitAny: event types differ between implementations
  addEventListener(type: 'open' | 'message' | 'error' | 'close', listener: (event: any) => void): void;
}

/** A WebSocket class: `new (url, protocols, options)`; the third argument is only read by `ws`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

export interface WebSocketOptions {
  /**
   * WebSocket class to use. Default: Node's global `WebSocket` when it exists, else the optional peer `ws`. `ws` is
   * used instead of the global one whenever `tls` options or `headers` are given (the global one takes neither).
   */
  implementation?: WebSocketConstructor;
  /** Extra HTTP headers for the handshake (needs `ws`), e.g. `{ authorization: 'Bearer …' }`. */
  headers?: Record<string, string>;
  /** Bytes buffered in the WebSocket above which writes wait (backpressure; default 1 MiB). */
  highWaterMark?: number;
}

/**
 * MQTT 5 enhanced authentication: CONNECT carries `method` and the initial `data`; each AUTH (0x18 Continue
 * authentication) from the broker is answered with what `onAuth` returns, until CONNACK.
 */
export interface EnhancedAuthOptions {
  /** Authentication Method, e.g. `'SCRAM-SHA-256'`. */
  method: string;
  /** Initial Authentication Data for CONNECT; a function is called before every (re)connect. */
  data?: Uint8Array | (() => Uint8Array | undefined | Promise<Uint8Array | undefined>);
  /** Answers one AUTH challenge; its result is the Authentication Data of our AUTH. Throwing aborts the connect. */
  onAuth(data: Buffer | undefined, reasonCode: number): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Sees the CONNACK's Authentication Data (e.g. to verify the server's proof); throwing aborts the connect. */
  onSuccess?(data: Buffer | undefined): void;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** DUP flag of the first attempt (QoS 1/2 only; ignored at QoS 0). Resends set it anyway. */
  dup?: boolean;
  properties?: PublishProperties;
}

export interface PublishResult {
  /** Packet identifier used (QoS > 0). */
  packetId?: number;
  /** Reason code of the PUBACK/PUBREC (MQTT 5); 0 for QoS 0 and on 3.1.1. */
  reasonCode: number;
  properties?: AckProperties;
}

export type AckMode = 'auto' | 'manual';

export interface SubscribeOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: RetainHandling;
  /** auto (default): acknowledged on receipt. manual: PUBACK/PUBREC only on `message.ack()`. */
  ack?: AckMode;
  /** Messages buffered for a consumer that is not reading (default 1000); see docs/hardening.md (backpressure). */
  bufferSize?: number;
  userProperties?: UserProperty[];
}

/** A PUBLISH delivered to the application. */
export interface MqttMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly properties: PublishProperties;
  /** User properties as a record; a repeated name gives an array in wire order. */
  readonly userProperties: Record<string, string | string[]>;
  /** Packet Identifier of a QoS 1/2 PUBLISH (absent at QoS 0). */
  readonly packetId?: number;
  /** Send PUBACK / PUBREC (idempotent; no-op at QoS 0 or in auto mode). */
  ack(): Promise<void>;
  /** MQTT 5: PUBACK / PUBREC with an error reason code (default 0x80). On 3.1.1 it acknowledges. */
  nack(reasonCode?: number): Promise<void>;
}

/** The result of `subscribe()`: an async iterable of the messages its filters matched. */
export interface Subscription extends AsyncIterable<MqttMessage>, AsyncDisposable {
  readonly filters: readonly string[];
  /** Granted QoS (or failure code) per filter, from SUBACK. */
  readonly granted: readonly number[];
  /** MQTT 5 subscription identifier, when the broker supports them. */
  readonly subscriptionIdentifier?: number;
  /** Stops delivery, sends UNSUBSCRIBE and ends the iteration. Idempotent. */
  unsubscribe(): Promise<void>;
}

export interface RequestOptions {
  /**
   * Milliseconds until `MqttTimeoutError` (default 30_000). It covers the whole request: a request made while
   * the client is not connected (reconnecting) waits for the connection within it, and is never sent if it ends
   * first.
   */
  timeout?: number;
  qos?: QoS;
  properties?: PublishProperties;
  /** Required on 3.1.1: the topic the responder publishes to. */
  responseTopic?: string;
}

export interface PingOptions {
  /** Milliseconds to wait for the PINGRESP before rejecting with `MqttTimeoutError` (default 5_000). */
  timeout?: number;
}

export interface DisconnectOptions {
  reasonCode?: number;
  sessionExpiryInterval?: number;
  reasonString?: string;
}

export interface ConnectedEvent {
  sessionPresent: boolean;
  properties?: ConnackProperties;
}

export interface DisconnectedEvent {
  /** Reason code of the server's DISCONNECT, or of the error that closed the link. */
  reasonCode?: number;
  reasonString?: string;
  properties?: DisconnectProperties;
  error?: Error;
}

export interface ClientEvents {
  connect: [ConnectedEvent];
  disconnect: [DisconnectedEvent];
  reconnecting: [{ attempt: number; delay: number }];
  status: [ClientStatus];
  error: [Error];
}

/**
 * What every driver client implements: the TCP/TLS/WebSocket client returned by `connect()` and the
 * in-memory client of `nest-mqtt-async/testing`. The Nest transport only talks to this.
 */
export interface MqttDriverClient {
  readonly status: ClientStatus;
  readonly protocolVersion: ProtocolVersion;
  /** Client identifier in use (the server-assigned one when it assigned one). */
  readonly clientId: string;
  /** CONNACK properties of the current connection (MQTT 5). */
  readonly serverProperties: ConnackProperties | undefined;
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<PublishResult>;
  subscribe(filter: string | string[], options?: SubscribeOptions): Promise<Subscription>;
  request(topic: string, payload: Uint8Array | string, options?: RequestOptions): Promise<MqttMessage>;
  disconnect(options?: DisconnectOptions): Promise<void>;
  /**
   * A PINGREQ → PINGRESP round trip: resolves with its duration in ms. Rejects with `MqttDisconnectedError` when
   * the link is down (at once, or when it goes down meanwhile) and `MqttTimeoutError` after `options.timeout`.
   */
  ping(options?: PingOptions): Promise<number>;
  on<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): this;
  off<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): this;
}

/**
 * The client `connect()` returns: a {@link MqttDriverClient} on a network connection (TCP, TLS or WebSocket), plus
 * what only a live connection to a broker can do.
 */
export interface MqttClient extends MqttDriverClient {
  /** The broker URL, without the password a `mqtt://user:password@host` URL carried. */
  readonly url: URL;
  /** The options given to `connect()`; a password is kept out of them (in a `credentials` function). */
  readonly options: MqttClientOptions;
  /**
   * MQTT 5: runs the enhanced authentication of `options.auth` again on the live connection (AUTH 0x19), e.g.
   * before a token expires. Resolves when the broker accepted it; rejects when it refused (it then disconnects).
   */
  reauthenticate(): Promise<void>;
}

/** Creates a connected driver client; `connect` is one, the in-memory broker provides another. */
export type Connector = (url: string, options?: MqttClientOptions) => Promise<MqttDriverClient>;
