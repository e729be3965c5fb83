import type { MqttMessage, SubscribeOptions, Subscription } from '../driver/index.js';
import type { MemoryMessage } from './memory-message.js';

/**
 * A Subscription of an in-memory client: the same queue rules as the driver's (bounded by `bufferSize`; QoS 0
 * beyond it is dropped, QoS 1/2 stays queued as a real broker would hold it back), acks in 'auto' mode on read.
 */
export class MemorySubscription implements Subscription {
  readonly filters: readonly string[];
  readonly granted: readonly number[];
  readonly subscriptionIdentifier?: number;
  readonly options: SubscribeOptions;
  /** MQTT 5: the subscription identifier each filter was subscribed with. */
  readonly identifiers = new Map<string, number>();
  dropped = 0;
  private readonly queue: MemoryMessage[] = [];
  private readonly waiters: ((r: IteratorResult<MqttMessage>) => void)[] = [];
  private ended = false;

  constructor(
    filters: readonly string[],
    granted: readonly number[],
    options: SubscribeOptions,
    subscriptionIdentifier: number | undefined,
    private readonly onUnsubscribe: (s: MemorySubscription) => void,
  ) {
    this.filters = filters;
    this.granted = granted;
    this.options = options;
    if (subscriptionIdentifier !== undefined) this.subscriptionIdentifier = subscriptionIdentifier;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Queues a message; false when a QoS 0 message was dropped because the buffer is full. */
  push(message: MemoryMessage): boolean {
    if (this.ended) return false;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.read(message);
      waiter({ value: message, done: false });
      return true;
    }
    if (this.queue.length >= (this.options.bufferSize ?? 1000) && message.qos === 0) {
      this.dropped++;
      return false;
    }
    this.queue.push(message);
    return true;
  }

  /** Ends the iteration; returns the messages still queued (never read). */
  end(): MemoryMessage[] {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
    return this.queue.splice(0);
  }

  private read(message: MemoryMessage): void {
    if ((this.options.ack ?? 'auto') === 'auto') void message.ack();
  }

  async unsubscribe(): Promise<void> {
    if (this.ended) return;
    this.onUnsubscribe(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unsubscribe();
  }

  [Symbol.asyncIterator](): AsyncIterator<MqttMessage> {
    return {
      next: () => {
        const m = this.queue.shift();
        if (m) {
          this.read(m);
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
