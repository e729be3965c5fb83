import type { ClientStatus } from '../../driver/index.js';
import { redactUrl } from '../../driver/transport/url.js';
import { MqttAsyncNotConnectedError, MqttAsyncPublishTimeoutError, MqttAsyncRequestTimeoutError } from '../errors.js';

/** Default `offlineQueueSize`: `send()`s and QoS 1/2 `emit()`s that may wait for the connection at once. */
export const DEFAULT_OFFLINE_QUEUE_SIZE = 10_000;

/** How a gate's errors name its owner: `ClientMqttAsync` and `emit()` unless told otherwise. */
export interface GateNaming {
  /** The transport, e.g. `ClientMqttAsync`. */
  who: string;
  /** The publishing call, e.g. `emit`. */
  verb: string;
  /** What to do once the transport stopped reconnecting. */
  restart: string;
}

const CLIENT_NAMING: GateNaming = {
  who: 'ClientMqttAsync',
  verb: 'emit',
  restart: 'call close() and connect() again',
};

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The driver client's connection as `ClientMqttAsync` sees it while the link is down: callers wait here (bounded
 * in time and in number) for the connection to come back; `drops` counts the links lost so far, so a request can
 * tell whether the link dropped while it waited for its reply. Builds the errors that name the state.
 */
export class ConnectionGate {
  /** Links lost since the client was created. */
  drops = 0;
  /** The driver's status as last reported. */
  status: ClientStatus = 'connecting';
  private readonly waiters = new Set<Waiter>();
  private readonly url: string;

  constructor(
    url: string,
    private readonly maxWaiting: number,
    readonly naming: GateNaming = CLIENT_NAMING,
  ) {
    this.url = redactUrl(url);
  }

  get connected(): boolean {
    return this.status === 'connected';
  }

  /** Follows the driver client's `status` events. */
  onStatus(status: ClientStatus): void {
    if (status === 'disconnected' && this.status === 'connected') this.drops++;
    this.status = status;
    if (status === 'connected') this.settle((w) => w.resolve());
  }

  /**
   * Resolves once connected. Rejects with `MqttAsyncNotConnectedError` after `timeoutMs`, and at once when the
   * driver gave up reconnecting (status `closed`) or `maxWaiting` callers already wait.
   */
  whenConnected(what: string, timeoutMs: number, bound: string): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.status === 'closed') return Promise.reject(this.notConnected(`${what} failed`));
    if (this.waiters.size >= this.maxWaiting) {
      return Promise.reject(this.notConnected(`${what} refused: offlineQueueSize (${this.maxWaiting}) calls wait`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(this.notConnected(`${what} not sent within ${timeoutMs} ms (${bound})`));
      }, timeoutMs);
      waiter.timer.unref?.();
      this.waiters.add(waiter);
    });
  }

  /** Rejects every waiter (the client is closing). */
  failAll(err: () => unknown): void {
    this.settle((w) => w.reject(err()));
  }

  notConnected(what: string): MqttAsyncNotConnectedError {
    const status = this.status;
    return new MqttAsyncNotConnectedError(
      status,
      `${what}: ${this.naming.who} is not connected to ${this.url} (status '${status}')` +
        (status === 'closed' ? `; it stopped reconnecting: ${this.naming.restart}` : '; retry later'),
    );
  }

  /** The error of a `send()` without final reply within `requestTimeout`: names a link that is or was down. */
  requestTimeoutError(pattern: string, ms: number, dropsWhenSent: number): Error {
    if (!this.connected) return this.notConnected(`No reply to '${pattern}' within ${ms} ms (requestTimeout)`);
    if (this.drops === dropsWhenSent) return new MqttAsyncRequestTimeoutError(pattern, ms);
    return new MqttAsyncRequestTimeoutError(
      pattern,
      ms,
      'the connection to the broker was lost meanwhile and the request or its reply was lost with it; retry',
    );
  }

  /** The error of an `emit()` not settled within `publishTimeout`. */
  publishTimeoutError(pattern: string, ms: number, sent: boolean): Error {
    const verb = this.naming.verb;
    if (!this.connected) {
      return this.notConnected(
        sent
          ? `${verb}('${pattern}') not confirmed within ${ms} ms (publishTimeout); it may still arrive after the reconnect`
          : `${verb}('${pattern}') not sent within ${ms} ms (publishTimeout)`,
      );
    }
    return new MqttAsyncPublishTimeoutError(
      `The broker did not confirm ${verb}('${pattern}') within ${ms} ms (publishTimeout): check the broker, or raise publishTimeout`,
    );
  }

  private settle(how: (w: Waiter) => void): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) {
      clearTimeout(w.timer);
      how(w);
    }
  }
}
