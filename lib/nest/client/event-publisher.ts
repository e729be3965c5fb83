import type { MqttDriverClient, QoS } from '../../driver/index.js';
import { publishOptionsOf, unwrapRecord } from '../record/outgoing.js';
import { type EncodedPayload, encodeRequest, isPromiseLike, type PacketCodecOptions } from '../serialization/index.js';
import type { ConnectionGate } from './connection-gate.js';
import { Deadlines } from './deadlines.js';

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
      const state = { over: false, sent: false };
      const untrack = this.emits.add({
        expire: () => {
          state.over = true;
          reject(this.link.gate.publishTimeoutError(pattern, this.link.timeoutMs, state.sent));
        },
        abort: (err) => {
          state.over = true;
          reject(err);
        },
      });
      this.start<T>(pattern, data, state).then(
        (result) => {
          untrack();
          resolve(result);
        },
        (err: unknown) => {
          untrack();
          reject(err);
        },
      );
    });
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
    const publish = (encoded: EncodedPayload) =>
      client.publish(
        pattern,
        encoded.payload,
        publishOptionsOf(message.options, this.link.qos, encoded.contentType),
      ) as Promise<T>;
    const encoded = encodeRequest({ pattern, data: message.data }, this.link.codec(client));
    return isPromiseLike(encoded) ? Promise.resolve(encoded).then(publish) : publish(encoded);
  }
}
