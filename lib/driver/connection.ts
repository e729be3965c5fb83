import { setTimeout as sleep } from 'node:timers/promises';
import { answerAuth, authConnectProperties, checkAuthSuccess } from './auth.js';
import { backoffDelay } from './backoff.js';
import { encodePacket, PacketDecoder } from './codec/index.js';
import type {
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  UserProperty,
} from './codec/packets.js';
import { reasonCodeName } from './codec/reason-codes.js';
import { closedBeforeConnack, isPermanent, refusal } from './connack.js';
import { MqttConnectError, MqttDisconnectedError, MqttProtocolError } from './errors.js';
import { Keepalive, type KeepaliveClock } from './keepalive.js';
import type { ResolvedClientOptions } from './options.js';
import { connectErrorFrom, isPermanentTransportError, openTransport } from './transport/index.js';
import type { DisconnectedEvent, DisconnectOptions, MqttTransportStream } from './types.js';

/** setImmediate as loaded, so fake timers installed later by a test cannot hold our writes back. */
const checkPhase = globalThis.setImmediate;

/** How long `close()` waits for the broker to close the socket after our DISCONNECT before destroying it. */
const CLOSE_GRACE_MS = 500;

/** What a Connection connects with. `clientId()` is read at every CONNECT: the broker may have assigned one. */
export interface ConnectionSettings {
  readonly url: URL;
  readonly options: ResolvedClientOptions;
  readonly protocolVersion: ProtocolVersion;
  clientId(): string;
  /** Keep Alive's clock (default: real time); tests inject a fake one. */
  readonly clock?: KeepaliveClock;
}

/**
 * How a Connection reports its link; it calls nothing else of its owner. The owner (`NetworkClient`) fans each report
 * out to the session state, the router, requests and the application's events, in one documented order.
 */
export interface ConnectionListener {
  /** CONNACK accepted the session; called before the packets that follow CONNACK in the same chunk. */
  up(connack: ConnackPacket): void;
  /** A packet received on the live link (none after `close()` was called). */
  packet(packet: Packet): void;
  /** The live link went down (lost, or closed by `close()`); `lost` says why. */
  down(lost: DisconnectedEvent): void;
  /** After `down`, unless `close()` was called by then: the link was lost; `reconnect` says whether attempts follow. */
  lost(reconnect: boolean): void;
  /** Before reconnect attempt `attempt`, which starts after `delay` ms. */
  reconnecting(event: { attempt: number; delay: number }): void;
  /** Reconnecting gave up: `error` is the last attempt's. */
  gaveUp(error: Error): void;
  /** `close()` queued DISCONNECT: nothing more is written on this link. */
  closing(): void;
  /** The live link failed (socket error, protocol error that cuts it). */
  error(error: Error): void;
}

/**
 * One client's link to the broker: CONNECT/CONNACK, reading packets, keepalive and reconnecting with backoff.
 * Keepalive tracks time since the last packet RECEIVED, so a dead link is found even while we send; 1.5×
 * keepalive without any inbound packet closes the link with 0x8D and reconnects.
 */
export class Connection {
  private stream: MqttTransportStream | undefined;
  private closing = false;
  /** Something was ever received: a CONNECT after that is a reconnect (it resumes the session). */
  private receivedAny = false;
  private readonly keepalive: Keepalive;
  /** Why the current link is going down, reported by the next 'disconnect' event. */
  private lost: DisconnectedEvent | undefined;
  /** Aborted by `close()`: cuts short a backoff wait, a transport being opened and a CONNACK being awaited. */
  private readonly aborted = new AbortController();

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly listener: ConnectionListener,
  ) {
    this.keepalive = new Keepalive(
      {
        ping: () => this.write(encodePacket({ type: 'pingreq' }, this.settings.protocolVersion)),
        dead: (error) => this.onProtocolError(this.stream, error),
      },
      settings.clock,
    );
  }

  write(bytes: Buffer, callback?: (err?: Error | null) => void): boolean {
    const s = this.stream;
    // After DISCONNECT nothing else may be written (MQTT-3.14.4-1): `closing` is set before it is queued. A stream
    // is held only from CONNACK to its close, the time the client is 'connected'.
    if (!s || this.closing) {
      callback?.(new MqttDisconnectedError('Not connected'));
      return false;
    }
    this.keepalive.sent();
    this.cork(s);
    s.write(bytes, callback);
    return true;
  }

  private corked: MqttTransportStream | undefined;

  /**
   * Packets written in the same event-loop turn leave in one socket write instead of one syscall each: uncorked
   * in the check phase (setImmediate), after the turn's I/O callbacks AND the promise chains they started — the
   * acks of a received chunk and the publishes its handlers make then share a write (a next-tick uncork sent them
   * in two). Streams without cork() (custom transports) write as before.
   */
  private cork(s: MqttTransportStream): void {
    const corkable = s as MqttTransportStream & { cork?: () => void; uncork?: () => void };
    if (this.corked === s || typeof corkable.cork !== 'function') return;
    this.corked = s;
    corkable.cork();
    checkPhase(() => {
      this.corked = undefined;
      corkable.uncork?.();
    });
  }

  /**
   * Connects with retries bounded by `reconnect.maxAttempts` (the first connection: `reconnect.connectAttempts`,
   * default the same); rejects with MqttConnectError after them, or at once when `close()` is called meanwhile (it
   * aborts the wait between attempts and the attempt under way).
   */
  async start(first = true): Promise<void> {
    const o = this.settings.options.reconnect;
    const reconnects = o === false ? 1 : (o?.maxAttempts ?? Number.POSITIVE_INFINITY);
    const max = first && o !== false ? (o?.connectAttempts ?? reconnects) : reconnects;
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= max && !this.closing; attempt++) {
      if (attempt > 1) {
        const delay = backoffDelay(attempt - 1, o || {});
        this.listener.reconnecting({ attempt, delay });
        await sleep(delay, undefined, { signal: this.aborted.signal }).catch(() => undefined);
        if (this.closing) break;
      }
      try {
        await this.attempt();
        return;
      } catch (err) {
        lastError = err as Error;
        if (err instanceof MqttConnectError && err.reasonCode !== undefined && isPermanent(err.reasonCode)) break;
        if (isPermanentTransportError(err)) break;
      }
    }
    if (this.closing) {
      throw new MqttConnectError('disconnect() was called before the connection was established', {
        cause: lastError,
      });
    }
    throw lastError instanceof MqttConnectError
      ? lastError
      : new MqttConnectError(`Cannot connect to ${this.settings.url.host}: ${lastError?.message ?? 'closed'}`, {
          cause: lastError,
        });
  }

  /** Opens the transport; rejects at once when `close()` is called meanwhile (a late stream is destroyed). */
  private openStream(): Promise<MqttTransportStream> {
    const signal = this.aborted.signal;
    const opening = openTransport(this.settings.url, this.settings.options);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(new MqttConnectError('disconnect() was called while connecting'));
        opening.then(
          (late) => late.destroy(),
          () => undefined,
        );
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      opening.then(
        (stream) => {
          signal.removeEventListener('abort', onAbort);
          resolve(stream);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  private async attempt(): Promise<void> {
    const stream = await this.openStream();
    const signal = this.aborted.signal;
    const decoder = new PacketDecoder({
      protocolVersion: this.settings.protocolVersion,
      maximumPacketSize: this.settings.options.maximumPacketSize,
    });
    await new Promise<ConnackPacket>((resolve, reject) => {
      const timeout = setTimeout(
        () => fail(new MqttConnectError('No CONNACK within connectTimeout')),
        this.settings.options.connectTimeout,
      );
      let connected = false;
      const onAbort = () => fail(new MqttConnectError('disconnect() was called before CONNACK'));
      const fail = (e: Error) => {
        clearTimeout(timeout);
        signal.removeEventListener('abort', onAbort);
        stream.destroy();
        reject(e);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (chunk) => {
        try {
          this.receivedAny = true;
          this.keepalive.received();
          for (const p of decoder.push(chunk)) {
            if (!connected) {
              if (p.type === 'auth') {
                answerAuth(this.settings.options.auth, p).then((a) => stream.write(encodePacket(a, 5)), fail);
                continue;
              }
              if (p.type !== 'connack') throw new MqttProtocolError(`Expected CONNACK, got ${p.type}`, 0x82);
              if (p.reasonCode === 0) checkAuthSuccess(this.settings.options.auth, p);
              clearTimeout(timeout);
              signal.removeEventListener('abort', onAbort);
              connected = true;
              if (p.reasonCode !== 0) return fail(refusal(p.reasonCode, this.settings.protocolVersion));
              this.stream = stream;
              // Session state must be reset BEFORE the packets that follow CONNACK in the same chunk (a resumed
              // session's redeliveries) are handled, or their acknowledgements are discarded by the reset.
              // Keep Alive: the server's Server Keep Alive (MQTT 5 CONNACK) wins over ours.
              this.keepalive.start(p.properties?.serverKeepAlive ?? this.settings.options.keepalive);
              this.listener.up(p);
              resolve(p);
            } else if (!this.closing) this.listener.packet(p);
          }
        } catch (err) {
          if (connected) this.onProtocolError(stream, err as Error);
          else fail(err as Error);
        }
      });
      stream.on('error', (err) =>
        connected ? this.listener.error(err) : fail(connectErrorFrom(err, this.settings.url)),
      );
      stream.on('close', () =>
        connected ? this.onClose(stream) : fail(closedBeforeConnack(this.settings.protocolVersion)),
      );
      this.buildConnect().then((p) => stream.write(encodePacket(p, this.settings.protocolVersion)), fail);
    });
  }

  private async buildConnect(): Promise<ConnectPacket> {
    const o = this.settings.options;
    const creds = o.credentials ? await o.credentials() : { username: o.username, password: o.password };
    const v5 = this.settings.protocolVersion === 5;
    const up = o.userProperties;
    const userProperties: UserProperty[] | undefined =
      up === undefined ? undefined : Array.isArray(up) ? up : Object.entries(up);
    // A reconnect resumes the session, except on 3.1.1 without a client id: the broker made one up for a clean
    // session and forgot it, and CleanSession 0 with an empty ClientId is forbidden there (MQTT-3.1.3-7).
    const first = !this.receivedAny || (!v5 && this.settings.clientId() === '');
    return {
      type: 'connect',
      protocolVersion: this.settings.protocolVersion,
      clientId: this.settings.clientId(),
      cleanStart: first ? o.cleanStart : false,
      keepalive: o.keepalive,
      username: creds.username,
      password: creds.password === undefined ? undefined : Buffer.from(creds.password as string),
      will: o.will && {
        topic: o.will.topic,
        payload: Buffer.from(o.will.payload as string),
        qos: o.will.qos ?? 0,
        retain: o.will.retain ?? false,
        properties: v5 ? o.will.properties : undefined,
      },
      properties: v5
        ? {
            requestResponseInformation: true,
            ...o.connectProperties,
            ...(await authConnectProperties(o.auth)),
            ...(o.sessionExpiryInterval ? { sessionExpiryInterval: o.sessionExpiryInterval } : {}),
            ...(o.receiveMaximum ? { receiveMaximum: o.receiveMaximum } : {}),
            ...(o.maximumPacketSize ? { maximumPacketSize: o.maximumPacketSize } : {}),
            ...(o.topicAliasMaximum ? { topicAliasMaximum: o.topicAliasMaximum } : {}),
            ...(userProperties ? { userProperties } : {}),
          }
        : undefined,
    };
  }

  /** The server sent DISCONNECT (MQTT 5): report its reason; the server closes the link, we reconnect. */
  onServerDisconnect(packet: DisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    const reasonString = packet.properties?.reasonString;
    const error = new MqttDisconnectedError(
      `The broker disconnected us: 0x${code.toString(16).padStart(2, '0')} ${reasonCodeName(code)}` +
        (reasonString ? ` (${reasonString})` : ''),
      { reasonCode: code },
    );
    this.lost = { reasonCode: code, reasonString, properties: packet.properties, error };
    this.stream?.end();
  }

  private onProtocolError(stream: MqttTransportStream | undefined, err: Error): void {
    if (!stream || stream !== this.stream) return;
    const code = err instanceof MqttProtocolError ? err.reasonCode : 0x83;
    this.lost = { reasonCode: code, error: err };
    if (this.settings.protocolVersion === 5) this.write(encodePacket({ type: 'disconnect', reasonCode: code }, 5));
    this.listener.error(err);
    stream.end();
    stream.destroy();
  }

  private onClose(stream: MqttTransportStream): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.keepalive.stop();
    const lost =
      this.lost ?? (this.closing ? {} : { error: new MqttDisconnectedError('Connection to the broker lost') });
    this.lost = undefined;
    this.listener.down(lost);
    if (this.closing) return; // close() was called, or a 'disconnect' listener called it
    const reconnect = this.settings.options.reconnect !== false;
    this.listener.lost(reconnect);
    if (!reconnect) return;
    this.start(false).catch((err: Error) => {
      if (this.closing) return; // disconnect() during the reconnect: it shuts the client down itself
      this.listener.gaveUp(err);
    });
  }

  /**
   * Sends DISCONNECT if connected and closes the stream. From the moment DISCONNECT is queued nothing else is
   * written (MQTT-3.14.4-1) and what arrives is not processed: no ack, ping, PUBREL/PUBCOMP or publish follows it,
   * and the status is `disconnected` at once (so publish/subscribe called now fail or wait for the final reject).
   * Bounded: the socket is destroyed {@link CLOSE_GRACE_MS} after DISCONNECT if the broker has not closed it (or
   * it cannot be written). Aborts connecting and reconnecting.
   */
  async close(o: DisconnectOptions): Promise<void> {
    this.closing = true;
    this.aborted.abort();
    this.keepalive.stop();
    const s = this.stream;
    if (!s) return;
    const v5 = this.settings.protocolVersion === 5;
    const packet: Packet = v5
      ? {
          type: 'disconnect',
          reasonCode: o.reasonCode ?? 0,
          properties:
            o.sessionExpiryInterval !== undefined || o.reasonString
              ? { sessionExpiryInterval: o.sessionExpiryInterval, reasonString: o.reasonString }
              : undefined,
        }
      : { type: 'disconnect' };
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => s.destroy(), CLOSE_GRACE_MS);
      s.on('close', () => {
        clearTimeout(force);
        resolve();
      });
      s.write(encodePacket(packet, this.settings.protocolVersion), () => s.end());
      this.listener.closing();
    });
  }
}
