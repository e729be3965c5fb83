import { randomBytes } from 'node:crypto';
import type { MqttClient } from './client.js';
import { MqttDisconnectedError, MqttError, MqttTimeoutError } from './errors.js';
import type { MqttMessage, RequestOptions, Subscription } from './types.js';

interface Pending {
  resolve: (m: MqttMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/response. MQTT 5: one response subscription per client, made lazily and reused (on the broker's
 * Response Information when given, else `<random prefix>/responses`); replies are matched by 16 random bytes
 * of Correlation Data; unknown or late replies are dropped. MQTT 3.1.1: `responseTopic` is required and the
 * first message on it is the reply.
 */
export class Requests {
  private readonly pending = new Map<string, Pending>();
  private responseTopic: string | undefined;
  private responseSub: Promise<Subscription> | undefined;
  private responseInformation: string | undefined;

  constructor(
    private readonly client: MqttClient,
    private readonly prefix: string,
  ) {}

  onConnected(responseInformation: string | undefined): void {
    if (responseInformation && !this.responseInformation) this.responseInformation = responseInformation;
  }

  async request(topic: string, payload: Uint8Array | string, o: RequestOptions): Promise<MqttMessage> {
    if (this.client.protocolVersion === 4) return this.requestV4(topic, payload, o);
    const max = this.client.options.maxPendingRequests ?? 10_000;
    if (this.pending.size >= max) throw new MqttError(`More than ${max} pending requests: await some first`);
    const responseTopic = await this.ensureResponseSubscription();
    const correlationData = randomBytes(16);
    const key = correlationData.toString('hex');
    const reply = new Promise<MqttMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(
          new MqttTimeoutError(`No reply on ${responseTopic} within ${o.timeout ?? 30_000} ms for request to ${topic}`),
        );
      }, o.timeout ?? 30_000);
      this.pending.set(key, { resolve, reject, timer });
    });
    try {
      await this.client.publish(topic, payload, {
        qos: o.qos ?? 0,
        properties: { ...o.properties, responseTopic, correlationData },
      });
    } catch (err) {
      const p = this.pending.get(key);
      if (p) {
        clearTimeout(p.timer);
        this.pending.delete(key);
      }
      reply.catch(() => undefined);
      throw err;
    }
    return reply;
  }

  private ensureResponseSubscription(): Promise<string> {
    if (!this.responseSub) {
      const ri = this.responseInformation?.replace(/\/+$/, '');
      this.responseTopic = ri ? `${ri}/${this.prefix}` : `${this.prefix}/responses`;
      this.responseSub = this.client.subscribe(this.responseTopic, { qos: 1 });
      this.responseSub.then(
        (sub) => this.consume(sub),
        () => {
          this.responseSub = undefined;
        },
      );
    }
    return this.responseSub.then(() => this.responseTopic as string);
  }

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
    const sub = await this.client.subscribe(o.responseTopic, { qos: o.qos ?? 0 });
    let timer: NodeJS.Timeout | undefined;
    try {
      const it = sub[Symbol.asyncIterator]();
      const first = it.next();
      await this.client.publish(topic, payload, { qos: o.qos ?? 0 });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new MqttTimeoutError(`No reply on ${o.responseTopic} within ${o.timeout ?? 30_000} ms`)),
          o.timeout ?? 30_000,
        );
      });
      const r = await Promise.race([first, timeout]);
      if (r.done) throw new MqttDisconnectedError('Client closed before the reply arrived');
      return r.value;
    } finally {
      clearTimeout(timer);
      await sub.unsubscribe().catch(() => undefined);
    }
  }

  rejectAll(reason: string): void {
    for (const [key, p] of this.pending) {
      this.pending.delete(key);
      clearTimeout(p.timer);
      p.reject(new MqttDisconnectedError(`${reason}: request abandoned`));
    }
  }
}
