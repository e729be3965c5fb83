import type { MqttMessage } from '../../driver/index.js';

interface Slot {
  readonly message: MqttMessage;
  /** undefined: not settled yet; null: ack; number: nack with that reason code. */
  outcome: number | null | undefined;
  readonly sent: Promise<void>;
  resolve: () => void;
}

/** A message's place in its subscription's ack order. */
export interface AckTicket {
  /** Requests an ack (idempotent: the first ack/nack wins). Resolves once the ack was handed to the driver. */
  ack(): Promise<void>;
  nack(reasonCode?: number): Promise<void>;
  /** True once ack/nack was requested. */
  readonly settled: boolean;
  /** Resolves once this message's ack/nack was handed to the driver. */
  readonly sent: Promise<void>;
}

/**
 * Releases acks in the order messages were received, whatever order handlers finish in (MQTT 5 §4.6).
 * One per subscription: a manual-ack message that is never acknowledged holds back the acks behind it.
 */
export class AckSequencer {
  private readonly queue: Slot[] = [];

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Takes a place in line for `message`; call in receive order. */
  enqueue(message: MqttMessage): AckTicket {
    let resolve!: () => void;
    const sent = new Promise<void>((r) => {
      resolve = r;
    });
    const slot: Slot = { message, outcome: undefined, sent, resolve };
    this.queue.push(slot);
    const settle = (outcome: number | null): Promise<void> => {
      if (slot.outcome === undefined) {
        slot.outcome = outcome;
        this.flush();
      }
      return slot.sent;
    };
    return {
      ack: () => settle(null),
      nack: (reasonCode = 0x80) => settle(reasonCode),
      get settled() {
        return slot.outcome !== undefined;
      },
      sent,
    };
  }

  /** Messages whose acks are still held back (waiting for themselves or an earlier message). */
  get pending(): number {
    return this.queue.length;
  }

  private flush(): void {
    while (this.queue.length > 0 && this.queue[0]!.outcome !== undefined) {
      const slot = this.queue.shift()!;
      const done = slot.outcome === null ? slot.message.ack() : slot.message.nack(slot.outcome);
      done.then(slot.resolve, (err) => {
        this.onError(err);
        slot.resolve();
      });
    }
  }
}
