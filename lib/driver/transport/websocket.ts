import { EventEmitter } from 'node:events';
import { types } from 'node:util';
import { MqttConnectError } from '../errors.js';
import { CLIENT_DEFAULTS } from '../options.js';
import type { MqttClientOptions, MqttTransportStream, WebSocketConstructor, WebSocketLike } from '../types.js';
import { connectErrorFrom } from './errors.js';

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
/** How often a backpressured stream looks at `bufferedAmount` (WebSockets have no 'drain' event). */
const DRAIN_POLL_MS = 2;

type Callback = (err?: Error | null) => void;

/** The error behind a WebSocket 'error' event (`ws` and undici put it in `.error`; a plain Event has none). */
function errorOf(event: { error?: unknown; message?: unknown } | undefined): Error {
  const error = event?.error as Error | undefined;
  if (typeof error === 'object' && error !== null && typeof error.message === 'string') return error;
  return new Error(typeof event?.message === 'string' && event.message ? event.message : 'WebSocket error');
}

/**
 * A WebSocket as an `MqttTransportStream`: binary frames both ways, `write()` reports backpressure once
 * `bufferedAmount` passes the high-water mark and its callbacks (hence QoS 0 publishes) wait until it drains.
 * A text frame is a protocol violation (MQTT over WebSocket is binary only) and closes the stream with an error.
 */
export class WebSocketStream extends EventEmitter implements MqttTransportStream {
  private closed = false;
  private waiting: Callback[] = [];
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocketLike,
    private readonly highWaterMark = DEFAULT_HIGH_WATER_MARK,
  ) {
    super();
    ws.addEventListener('message', (event: { data: unknown }) => this.onMessage(event.data));
    ws.addEventListener('error', (event) => {
      if (!this.closed) this.emit('error', errorOf(event));
    });
    ws.addEventListener('close', () => this.finish());
  }

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  write(chunk: Uint8Array, callback?: Callback): boolean {
    if (this.closed) {
      if (callback) process.nextTick(callback, new Error('WebSocket is closed'));
      return false;
    }
    try {
      this.ws.send(chunk);
    } catch (err) {
      this.destroy(err as Error);
      if (callback) process.nextTick(callback, err as Error);
      return false;
    }
    const below = this.ws.bufferedAmount <= this.highWaterMark;
    if (below && this.waiting.length === 0) {
      if (callback) process.nextTick(callback);
      return true;
    }
    if (callback) this.waiting.push(callback);
    this.watchDrain();
    return below;
  }

  end(): void {
    if (!this.closed) this.ws.close(1000);
  }

  destroy(err?: Error): void {
    if (this.closed) return;
    const terminate = (this.ws as WebSocketLike & { terminate?: () => void }).terminate;
    if (typeof terminate === 'function') terminate.call(this.ws);
    else this.ws.close(1000);
    if (err) process.nextTick(() => this.emit('error', err));
    this.finish();
  }

  private onMessage(data: unknown): void {
    if (this.closed) return;
    // util.types, not instanceof: the WebSocket may live in another realm (Node's internal undici, test VMs).
    if (types.isAnyArrayBuffer(data)) this.emit('data', Buffer.from(data));
    else if (ArrayBuffer.isView(data)) this.emit('data', Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    else this.destroy(new Error('Received a text WebSocket frame: MQTT over WebSocket must use binary frames'));
  }

  private watchDrain(): void {
    if (this.poll) return;
    const check = (): void => {
      this.poll = undefined;
      if (this.closed) return;
      if (this.ws.bufferedAmount > this.highWaterMark) {
        this.poll = setTimeout(check, DRAIN_POLL_MS);
        return;
      }
      const callbacks = this.waiting;
      this.waiting = [];
      for (const cb of callbacks) cb();
      this.emit('drain');
    };
    this.poll = setTimeout(check, DRAIN_POLL_MS);
  }

  /** Emits 'close' once (asynchronously), failing the write callbacks still waiting for a drain. */
  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.poll);
    const callbacks = this.waiting;
    this.waiting = [];
    process.nextTick(() => {
      const err = new Error('WebSocket closed before the data was sent');
      for (const cb of callbacks) cb(err);
      this.emit('close');
    });
  }
}

/** Loads the optional peer `ws`, or explains how to get a WebSocket. */
async function loadWs(reason: string): Promise<WebSocketConstructor> {
  const name = 'ws';
  try {
    const mod = (await import(name)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
    const ctor = mod.WebSocket ?? mod.default;
    if (typeof ctor === 'function') return ctor;
  } catch {
    // fall through to the error below
  }
  throw new MqttConnectError(`ws:// and wss:// ${reason}: npm install ws (an optional peer dependency)`);
}

function chooseImplementation(options: MqttClientOptions): Promise<WebSocketConstructor> {
  const own = options.webSocket?.implementation;
  if (own) return Promise.resolve(own);
  if (options.tls || options.webSocket?.headers) return loadWs('with tls options or headers need the ws package');
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global === 'function') return Promise.resolve(global);
  return loadWs('need a WebSocket: this Node.js has no global WebSocket (Node >= 22 has one)');
}

/**
 * Opens `ws://` or `wss://` with subprotocol `mqtt`, resolving once the WebSocket is open. Rejects with
 * `MqttConnectError` when the handshake fails (HTTP error, TLS error, refused), when the server picks another
 * subprotocol, or after `connectTimeout`.
 */
export async function openWebSocket(url: URL, options: MqttClientOptions): Promise<MqttTransportStream> {
  const WebSocketClass = await chooseImplementation(options);
  const wsOptions = { perMessageDeflate: false, ...options.tls, headers: options.webSocket?.headers };
  let ws: WebSocketLike;
  try {
    ws = new WebSocketClass(url.href, ['mqtt'], wsOptions);
  } catch (err) {
    throw connectErrorFrom(err, url);
  }
  // `ws` (an EventEmitter) can hand over Node Buffers without a copy; the WHATWG WebSocket only ArrayBuffers.
  ws.binaryType = typeof (ws as { on?: unknown }).on === 'function' ? 'nodebuffer' : 'arraybuffer';
  const stream = new WebSocketStream(ws, options.webSocket?.highWaterMark);
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    const timeout = setTimeout(() => {
      failure = new MqttConnectError(`WebSocket handshake with ${url.host} did not complete within connectTimeout`);
      stream.destroy();
    }, options.connectTimeout ?? CLIENT_DEFAULTS.connectTimeout);
    const onError = (err: Error): void => {
      failure ??= err;
    };
    const onClose = (): void => {
      clearTimeout(timeout);
      reject(connectErrorFrom(failure ?? new Error('WebSocket closed during the handshake'), url));
    };
    stream.on('error', onError);
    stream.once('close', onClose);
    ws.addEventListener('open', () => {
      clearTimeout(timeout);
      if (ws.protocol !== '' && ws.protocol !== 'mqtt') {
        failure = new MqttConnectError(`WebSocket server chose subprotocol "${ws.protocol}" instead of "mqtt"`);
        stream.destroy();
        return;
      }
      stream.off('error', onError);
      stream.off('close', onClose);
      resolve(stream);
    });
  });
}
