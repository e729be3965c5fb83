import type { MqttDriverClient, QoS } from '../../driver/index.js';
import { publishOptionsOf, unwrapRecord } from '../record/outgoing.js';
import { type EncodedPayload, encodeRequest, isPromiseLike, type PacketCodecOptions } from '../serialization/index.js';
import type { ConnectionGate } from './connection-gate.js';
import { type Bounded, Deadlines } from './deadlines.js';

/** Default `publishTimeout` of an `emit()` in milliseconds: rides out a broker restart of a few seconds. */
export const DEFAULT_PUBLISH_TIMEOUT = 30_000;

/** How `ClientMqttAsync` lets its {@link EventPublisher} reach the broker. */
export interface EventLink {
  gate: ConnectionGate;
  /** The connected driver client, connecting first when there is none yet. */
  client(): MqttDriverClient | Promise<MqttDriverClient>;
  /** The codec of events on `client` (Nest `{pattern,data}` wrapping or bare). */
  codec(client: MqttDriverClient): PacketCodecOptions;
  /** Default QoS of an emit (`qos` option, default 1). */
  qos: QoS;
  /** `publishTimeout`. */
  timeoutMs: number;
}

/** The rejection handler of an emit nobody subscribed to: one function, not a closure per emit. */
export function ignoreRejection(): undefined {
  return undefined;
}

/**
 * One `emit()` until it settles: its deadline, the state the publish path reads (`over`, `sent`) and the
 * promise's settle functions in one object. An emit stays in flight until the broker's PUBACK, long enough for
 * its objects to outlive a young-generation collection under load, so each one fewer is garbage-collector work
 * saved (the closures and state objects this replaces were most of a QoS 1 emit's GC time).
 */
class PendingEmit<T> implements Bounded {
  /** Settled by its deadline or by `abortAll`: never published after this. */
  over = false;
  /** Handed to the driver. */
  sent = false;
  deadline = 0;
  slot = -1;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly pattern: string,
    private readonly resolve: (value: T) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  expire(): void {
    this.over = true;
    this.reject(this.publisher.timeoutError(this.pattern, this.sent));
  }

  abort(err: unknown): void {
    this.over = true;
    this.reject(err);
  }

  done(result: T): void {
    this.publisher.untrack(this);
    this.resolve(result);
  }

  failed(err: unknown): void {
    this.publisher.untrack(this);
    this.reject(err);
  }
}

/**
 * `ClientMqttAsync.emit()`: every emit settles within `publishTimeout` — on the broker's confirmation (QoS 1/2)
 * or the socket write (QoS 0), or with a typed error. While the link is down a QoS 0 emit fails at once and a
 * QoS 1/2 emit waits for it, and is never sent once its time ran out.
 */
export class EventPublisher {
  private readonly emits: Deadlines;

  constructor(private readonly link: EventLink) {
    this.emits = new Deadlines(link.timeoutMs);
  }

  emit<T>(pattern: string, data: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const op = new PendingEmit<T>(this, pattern, resolve, reject);
      this.emits.add(op);
      this.start<T>(pattern, data, op).then(
        (result) => op.done(result),
        (err: unknown) => op.failed(err),
      );
    });
  }

  /** @internal `op` settled: its deadline is dropped. */
  untrack(op: Bounded): void {
    this.emits.remove(op);
  }

  /** @internal The error of an emit whose `publishTimeout` ran out. */
  timeoutError(pattern: string, sent: boolean): Error {
    return this.link.gate.publishTimeoutError(pattern, this.link.timeoutMs, sent);
  }

  /** Rejects every unsettled emit with `err()` (the client is closing). */
  abortAll(err: () => unknown): void {
    this.emits.abortAll(err);
  }

  /**
   * Connected with a client at hand (the steady state): publishes now, without the async path's extra promise
   * and microtask hops per emit.
   */
  private start<T>(pattern: string, data: unknown, state: { over: boolean; sent: boolean }): Promise<T> {
    const client = this.link.client();
    if (isPromiseLike(client) || !this.link.gate.connected) return this.startWaiting<T>(client, pattern, data, state);
    try {
      return this.send<T>(client, pattern, unwrapRecord(data), state);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async startWaiting<T>(
    pending: MqttDriverClient | Promise<MqttDriverClient>,
    pattern: string,
    data: unknown,
    state: { over: boolean; sent: boolean },
  ): Promise<T> {
    const client = await pending;
    const { gate } = this.link;
    const message = unwrapRecord(data);
    if (!gate.connected) {
      const call = `${gate.naming.verb}('${pattern}')`;
      if ((message.options?.qos ?? this.link.qos) === 0) throw gate.notConnected(`QoS 0 ${call} dropped`);
      await gate.whenConnected(call, this.link.timeoutMs, 'publishTimeout');
      if (state.over) return undefined as T; // settled meanwhile (expired, closed): never sent
    }
    return this.send<T>(client, pattern, message, state);
  }

  private send<T>(
    client: MqttDriverClient,
    pattern: string,
    message: ReturnType<typeof unwrapRecord>,
    state: { sent: boolean },
  ): Promise<T> {
    state.sent = true;
    const encoded = encodeRequest({ pattern, data: message.data }, this.link.codec(client));
    if (isPromiseLike(encoded)) {
      return Promise.resolve(encoded).then((e) => this.publish<T>(client, pattern, message, e));
    }
    return this.publish<T>(client, pattern, message, encoded);
  }

  private publish<T>(
    client: MqttDriverClient,
    pattern: string,
    message: ReturnType<typeof unwrapRecord>,
    encoded: EncodedPayload,
  ): Promise<T> {
    const options = publishOptionsOf(message.options, this.link.qos, encoded.contentType);
    return client.publish(pattern, encoded.payload, options) as Promise<T>;
  }
}
