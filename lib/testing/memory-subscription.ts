import type { SubscribeOptions } from '../driver/index.js';
import { MessageSubscription } from '../driver/subscription.js';
import type { MemoryMessage } from './memory-message.js';

/**
 * A Subscription of an in-memory client: the driver's own `MessageSubscription` (the same bounded queue: QoS 0
 * beyond `bufferSize` is dropped, QoS 1/2 stays queued as a real broker would hold it back; acks in 'auto' mode on
 * read), plus what the in-memory broker keeps about it: its options and, on MQTT 5, each filter's identifier.
 */
export class MemorySubscription extends MessageSubscription {
  readonly options: SubscribeOptions;
  /** MQTT 5: the subscription identifier each filter was subscribed with. */
  readonly identifiers = new Map<string, number>();

  constructor(
    filters: readonly string[],
    granted: readonly number[],
    options: SubscribeOptions,
    subscriptionIdentifier: number | undefined,
    onUnsubscribe: (s: MemorySubscription) => void,
  ) {
    super(
      [...filters],
      options.bufferSize ?? 1000,
      subscriptionIdentifier,
      async (s) => onUnsubscribe(s as MemorySubscription),
      (m) => {
        if ((options.ack ?? 'auto') === 'auto') void m.ack();
      },
    );
    this.granted = granted;
    this.options = options;
  }

  /** Queues a message; false when a QoS 0 message was dropped because the buffer is full. */
  override push(message: MemoryMessage): boolean {
    return super.push(message);
  }

  /** Ends the iteration; returns the messages still queued (never read), for the broker to settle. */
  drain(): MemoryMessage[] {
    this.end();
    return this.takeQueued() as MemoryMessage[];
  }
}
