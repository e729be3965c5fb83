import { type MqttDriverClient, type MqttMessage, MqttSubscribeError, type Subscription } from '../../driver/index.js';

interface Channel {
  refs: number;
  ready: Promise<Subscription>;
}

/** Idle `<topic>/reply` subscriptions kept for the next request on the same topic. */
export const MAX_IDLE_REPLY_CHANNELS = 32;

/**
 * The `<topic>/reply` subscriptions of the Nest wire format, shared by the requests waiting on them. A channel
 * whose last request settled stays subscribed for the next one (at most {@link MAX_IDLE_REPLY_CHANNELS} idle; the
 * oldest idle one is unsubscribed beyond that), so a busy pattern does not pay a SUBSCRIBE round trip per request.
 * A topic being unsubscribed is subscribed again only after its UNSUBACK: some brokers (aedes) apply an
 * UNSUBSCRIBE after a SUBSCRIBE that followed it, which would silently drop the new subscription.
 */
export class NestReplyChannels {
  private readonly channels = new Map<string, Channel>();
  /** Channels without requests, oldest first (a Set keeps insertion order). */
  private readonly idle = new Set<string>();
  private readonly unsubscribing = new Map<string, Promise<void>>();

  constructor(
    private readonly client: MqttDriverClient,
    private readonly onMessage: (message: MqttMessage) => Promise<void> | undefined,
    private readonly maxIdle = MAX_IDLE_REPLY_CHANNELS,
  ) {}

  /** Resolves once `topic` is subscribed (SUBACK received); pair every successful call with {@link release}. */
  async acquire(topic: string): Promise<void> {
    let channel = this.channels.get(topic);
    this.idle.delete(topic);
    if (!channel) {
      channel = { refs: 0, ready: this.open(topic) };
      this.channels.set(topic, channel);
      const opened = channel;
      opened.ready.catch(() => {
        if (this.channels.get(topic) === opened) this.channels.delete(topic);
      });
    }
    channel.refs += 1;
    try {
      await channel.ready;
    } catch (err) {
      channel.refs -= 1;
      throw err;
    }
  }

  /** {@link acquire}, then a function that releases the topic once, however often it is called. */
  async hold(topic: string): Promise<() => void> {
    await this.acquire(topic);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(topic);
    };
  }

  release(topic: string): void {
    const channel = this.channels.get(topic);
    if (!channel) return;
    channel.refs -= 1;
    if (channel.refs > 0) return;
    this.idle.add(topic);
    if (this.idle.size > this.maxIdle) this.evict(this.idle.values().next().value as string);
  }

  private evict(topic: string): void {
    const channel = this.channels.get(topic);
    this.idle.delete(topic);
    if (!channel) return;
    this.channels.delete(topic);
    const done = channel.ready
      .then((sub) => sub.unsubscribe())
      .catch(() => undefined)
      .finally(() => {
        if (this.unsubscribing.get(topic) === done) this.unsubscribing.delete(topic);
      });
    this.unsubscribing.set(topic, done);
  }

  /** Topics subscribed or being subscribed (idle ones included). */
  get size(): number {
    return this.channels.size;
  }

  /** Topics with requests waiting on them. */
  get active(): number {
    return this.channels.size - this.idle.size;
  }

  private async open(topic: string): Promise<Subscription> {
    await this.unsubscribing.get(topic);
    const subscription = await this.client.subscribe(topic, { qos: 1 });
    const refused = subscription.granted.find((code) => code >= 0x80);
    if (refused !== undefined) {
      throw new MqttSubscribeError(
        `The broker refused the reply subscription '${topic}' (reason code 0x${refused.toString(16)}); check its ACL`,
        subscription.granted,
      );
    }
    void this.consume(subscription);
    return subscription;
  }

  private async consume(subscription: Subscription): Promise<void> {
    // Sequential on purpose: the replies of one request must reach its observer in order.
    for await (const message of subscription) await this.onMessage(message);
  }
}
