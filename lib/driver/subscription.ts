import { Fifo } from './fifo.js';
import type { MqttMessage, Subscription } from './types.js';

/** `granted` until the SUBACK: one shared empty array. */
const NONE_GRANTED: readonly number[] = Object.freeze([]);

/**
 * A Subscription's bounded queue. Backpressure policy: when `bufferSize` messages wait unread, QoS 1/2
 * messages are still queued but NOT acknowledged until read, so our Receive Maximum makes the broker stop
 * sending; QoS 0 messages beyond the buffer are dropped and counted in `dropped`.
 */
export class MessageSubscription implements Subscription {
  readonly filters: readonly string[];
  granted: readonly number[] = NONE_GRANTED;
  readonly subscriptionIdentifier?: number;
  dropped = 0;
  // Allocated on first use: gateways hold thousands of idle Subscriptions (one per device), and an empty queue
  // and waiter list per Subscription were most of an idle one's heap.
  private pending: Fifo<MqttMessage> | undefined;
  private readers: ((r: IteratorResult<MqttMessage>) => void)[] | undefined;
  private ended = false;

  constructor(
    filters: string[],
    readonly bufferSize: number,
    subscriptionIdentifier: number | undefined,
    private readonly onUnsubscribe: (s: MessageSubscription) => Promise<void>,
    private readonly onRead: (m: MqttMessage) => void,
  ) {
    this.filters = filters;
    if (subscriptionIdentifier !== undefined) this.subscriptionIdentifier = subscriptionIdentifier;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Messages received and not yet read. */
  private get queue(): Fifo<MqttMessage> {
    this.pending ??= new Fifo<MqttMessage>();
    return this.pending;
  }

  /** Readers waiting in `next()` for a message. */
  private get waiters(): ((r: IteratorResult<MqttMessage>) => void)[] {
    this.readers ??= [];
    return this.readers;
  }

  /** Returns false when a QoS 0 message was dropped because the buffer is full. */
  push(message: MqttMessage): boolean {
    if (this.ended) return false;
    const waiter = this.readers?.shift();
    if (waiter) {
      this.onRead(message);
      waiter({ value: message, done: false });
      return true;
    }
    if ((this.pending?.length ?? 0) >= this.bufferSize && message.qos === 0) {
      this.dropped++;
      return false;
    }
    this.queue.push(message);
    return true;
  }

  /**
   * Messages held from before the SUBSCRIBE went out (a resumed session's queue), put in front of what was routed
   * to the Subscription since then, so they are read in the order the broker sent them. Only called before the
   * SUBACK, when nobody can be reading yet; their count is bounded by the held-message bounds.
   */
  pushFront(messages: readonly MqttMessage[]): void {
    if (this.ended || messages.length === 0) return;
    this.queue.unshiftAll(messages);
  }

  /** Ends the Subscription and acknowledges what it had queued unread (its SUBSCRIBE failed; see MessageRouter). */
  discard(): void {
    this.end();
    for (let m = this.queue.shift(); m; m = this.queue.shift()) void m.ack();
  }

  /** @internal The messages queued unread, removed: the in-memory broker settles them when a Subscription ends. */
  protected takeQueued(): MqttMessage[] {
    const unread: MqttMessage[] = [];
    for (let m = this.pending?.shift(); m; m = this.pending?.shift()) unread.push(m);
    return unread;
  }

  end(): void {
    this.ended = true;
    const readers = this.readers;
    this.readers = undefined;
    for (const w of readers ?? []) w({ value: undefined, done: true });
  }

  async unsubscribe(): Promise<void> {
    if (this.ended) return;
    this.end();
    await this.onUnsubscribe(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unsubscribe();
  }

  [Symbol.asyncIterator](): AsyncIterator<MqttMessage> {
    return {
      next: () => {
        const m = this.pending?.shift();
        if (m) {
          this.onRead(m);
          return Promise.resolve({ value: m, done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: async () => {
        await this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }
}
