import { randomBytes } from 'node:crypto';
import { MqttDisconnectedError, MqttError, MqttTimeoutError, MqttTooManyRequestsError } from './errors.js';
import type { ResolvedClientOptions } from './options.js';
import { validateTopicName } from './topic.js';
import type { MqttDriverClient, MqttMessage, RequestOptions, Subscription } from './types.js';

interface Pending {
  resolve: (m: MqttMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface ConnectWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

const noop = (): void => undefined;

/** Correlation Data is cut from a pool of random bytes: one randomBytes() call per 256 requests, not per request. */
const CORRELATION_BYTES = 16;
const POOL_BYTES = CORRELATION_BYTES * 256;

/**
 * Request/response. MQTT 5: one response subscription per client, made lazily and reused (on the broker's
 * Response Information when given, else `<random prefix>/responses`); replies are matched by 16 random bytes
 * of Correlation Data; unknown or late replies are acknowledged and dropped. MQTT 3.1.1: `responseTopic` is
 * required and the first message on it is the reply.
 *
 * A request made while the client is not connected (reconnecting) waits for the connection, within its
 * `timeout`, before anything is sent — at every QoS, so a request that timed out offline is never sent later.
 * Once published, a request survives reconnects: its reply may arrive on a later connection.
 */
export class Requests {
  private readonly pending = new Map<string, Pending>();
  private responseTopic: string | undefined;
  private responseSub: Promise<Subscription> | undefined;
  private responseInformation: string | undefined;
  private readonly connectWaiters = new Set<ConnectWaiter>();
  /** The response subscription's SUBACK arrived: requests skip waiting for it. */
  private subscribed = false;
  private pool = Buffer.alloc(0);
  private poolOffset = 0;

  /**
   * Works on any client through its public interface (the driver's and the in-memory one): status, protocol
   * version, publish() and subscribe(). `prefix` names this client's response topic; `options` bound the pending.
   */
  constructor(
    private readonly client: Pick<MqttDriverClient, 'status' | 'protocolVersion' | 'publish' | 'subscribe'>,
    private readonly prefix: string,
    private readonly options: Pick<ResolvedClientOptions, 'maxPendingRequests'>,
  ) {}

  onConnected(responseInformation: string | undefined): void {
    if (responseInformation && !this.responseInformation) this.responseInformation = responseInformation;
    for (const w of [...this.connectWaiters]) w.resolve();
  }

  async request(topic: string, payload: Uint8Array | string, o: RequestOptions): Promise<MqttMessage> {
    validateTopicName(topic);
    if (this.client.status === 'closed') throw new MqttDisconnectedError('Client is closed: call connect() again');
    if (this.client.protocolVersion === 4) return this.requestV4(topic, payload, o);
    const max = this.options.maxPendingRequests;
    if (this.pending.size >= max) {
      throw new MqttTooManyRequestsError(
        `${max} requests already wait for a reply (maxPendingRequests): await some first or raise the limit`,
      );
    }
    const timeout = o.timeout ?? 30_000;
    const deadline = Date.now() + timeout;
    const correlationData = this.correlationData();
    const key = correlationData.toString('hex');
    let sentTo: string | undefined;
    // Registered at once, so the bound above counts requests still waiting for the connection or SUBACK.
    const reply = new Promise<MqttMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(
          new MqttTimeoutError(
            sentTo
              ? `No reply on ${sentTo} within ${timeout} ms for request to ${topic}`
              : `Request to ${topic} not sent within its ${timeout} ms timeout: the client was not connected`,
          ),
        );
      }, timeout);
      this.pending.set(key, { resolve, reject, timer });
    });
    reply.catch(noop); // settled by a timer while we may still be awaiting below
    try {
      const ready = this.subscribed && this.client.status === 'connected';
      const responseTopic = ready ? (this.responseTopic as string) : await this.ensureResponseSubscription(deadline);
      if (!ready) await this.whenConnected(deadline);
      if (!this.pending.has(key)) return await reply;
      sentTo = responseTopic;
      await this.client.publish(topic, payload, {
        qos: o.qos ?? 0,
        properties: { ...o.properties, responseTopic, correlationData },
      });
    } catch (err) {
      const p = this.pending.get(key);
      if (!p) return reply; // already settled (timed out, client closed, or even answered): that is the outcome
      clearTimeout(p.timer);
      this.pending.delete(key);
      throw err;
    }
    return reply;
  }

  /**
   * Resolves once the client is connected; rejects with MqttTimeoutError at `deadline`, or MqttDisconnectedError
   * when the client closes first.
   */
  private whenConnected(deadline: number): Promise<void> {
    const status = this.client.status;
    if (status === 'connected') return Promise.resolve();
    if (status === 'closed') return Promise.reject(new MqttDisconnectedError('Client is closed: call connect() again'));
    return new Promise<void>((resolve, reject) => {
      const waiter: ConnectWaiter = {
        resolve: () => done(resolve),
        reject: (e) => done(() => reject(e)),
      };
      const timer = setTimeout(
        () =>
          waiter.reject(
            new MqttTimeoutError('Request not sent within its timeout: the client was not connected; retry later'),
          ),
        Math.max(0, deadline - Date.now()),
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.connectWaiters.delete(waiter);
        fn();
      };
      this.connectWaiters.add(waiter);
    });
  }

  /** The response topic, subscribed; a SUBSCRIBE cut short by a lost link is made again after the reconnect. */
  private async ensureResponseSubscription(deadline: number): Promise<string> {
    for (;;) {
      await this.whenConnected(deadline);
      try {
        return await this.responseSubscription();
      } catch (err) {
        const retry = err instanceof MqttDisconnectedError && this.client.status !== 'closed' && Date.now() < deadline;
        if (!retry) throw err;
      }
    }
  }

  private responseSubscription(): Promise<string> {
    if (!this.responseSub) {
      const ri = this.responseInformation === undefined ? undefined : trimSlashes(this.responseInformation);
      this.responseTopic = ri ? `${ri}/${this.prefix}` : `${this.prefix}/responses`;
      this.responseSub = this.client.subscribe(this.responseTopic, { qos: 1 });
      this.responseSub.then(
        (sub) => {
          this.subscribed = true;
          return this.consume(sub);
        },
        () => {
          this.responseSub = undefined;
        },
      );
    }
    return this.responseSub.then(() => this.responseTopic as string);
  }

  private correlationData(): Buffer {
    if (this.poolOffset + CORRELATION_BYTES > this.pool.length) {
      this.pool = randomBytes(POOL_BYTES);
      this.poolOffset = 0;
    }
    const bytes = this.pool.subarray(this.poolOffset, this.poolOffset + CORRELATION_BYTES);
    this.poolOffset += CORRELATION_BYTES;
    return bytes;
  }

  /** Reads (and so acknowledges) every reply; one nobody waits for any more is dropped. */
  private async consume(sub: Subscription): Promise<void> {
    for await (const m of sub) {
      const key = m.properties.correlationData?.toString('hex');
      const p = key === undefined ? undefined : this.pending.get(key);
      if (!p || key === undefined) continue;
      this.pending.delete(key);
      clearTimeout(p.timer);
      p.resolve(m);
    }
  }

  private async requestV4(topic: string, payload: Uint8Array | string, o: RequestOptions): Promise<MqttMessage> {
    if (!o.responseTopic)
      throw new MqttError(
        'MQTT 3.1.1 has no response topics: pass options.responseTopic (the topic the responder publishes to)',
      );
    const timeout = o.timeout ?? 30_000;
    await this.whenConnected(Date.now() + timeout);
    const sub = await this.client.subscribe(o.responseTopic, { qos: o.qos ?? 0 });
    let timer: NodeJS.Timeout | undefined;
    try {
      const it = sub[Symbol.asyncIterator]();
      const first = it.next();
      await this.client.publish(topic, payload, { qos: o.qos ?? 0 });
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new MqttTimeoutError(`No reply on ${o.responseTopic} within ${timeout} ms`)),
          timeout,
        );
      });
      const r = await Promise.race([first, expired]);
      if (r.done) throw new MqttDisconnectedError('Client closed before the reply arrived');
      return r.value;
    } finally {
      clearTimeout(timer);
      await sub.unsubscribe().catch(() => undefined);
    }
  }

  rejectAll(reason: string): void {
    for (const w of [...this.connectWaiters]) w.reject(new MqttDisconnectedError(`${reason}: request not sent`));
    for (const [key, p] of this.pending) {
      this.pending.delete(key);
      clearTimeout(p.timer);
      p.reject(new MqttDisconnectedError(`${reason}: request abandoned`));
    }
  }
}

/** Drops trailing `/` in one pass: `/\/+$/` on broker-supplied text is quadratic (1.7 s for 65,535 characters). */
function trimSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end--;
  return text.slice(0, end);
}
