import type { MqttMessage } from '../../driver/index.js';

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

class Ticket implements AckTicket {
  /** undefined: not settled yet; null: ack; number: nack with that reason code. */
  outcome: number | null | undefined;
  /** Set when the ack/nack was handed to the driver: resolves when the driver took it (errors reported). */
  private handedOff: Promise<void> | undefined;
  /** Made only when someone waits for `sent` before the ack could leave. */
  private waiting: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    readonly message: MqttMessage,
    private readonly sequencer: AckSequencer,
  ) {}

  ack(): Promise<void> {
    return this.settle(null);
  }

  nack(reasonCode = 0x80): Promise<void> {
    return this.settle(reasonCode);
  }

  get settled(): boolean {
    return this.outcome !== undefined;
  }

  get sent(): Promise<void> {
    if (this.handedOff) return this.handedOff;
    if (!this.waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }

  private settle(outcome: number | null): Promise<void> {
    if (this.outcome === undefined) {
      this.outcome = outcome;
      this.sequencer.flush();
    }
    return this.sent;
  }

  /** Called by the sequencer when every earlier message's ack left. */
  handOff(onError: (err: unknown) => void): void {
    const done = this.outcome === null ? this.message.ack() : this.message.nack(this.outcome as number);
    this.handedOff = done.then(undefined, onError);
    if (this.waiting) this.handedOff.then(this.waiting.resolve);
  }
}

/**
 * Releases acks in the order messages were received, whatever order handlers finish in (MQTT 5 §4.6).
 * One per subscription: a manual-ack message that is never acknowledged holds back the acks behind it.
 */
export class AckSequencer {
  private readonly queue: Ticket[] = [];
  private head = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Takes a place in line for `message`; call in receive order. */
  enqueue(message: MqttMessage): AckTicket {
    const ticket = new Ticket(message, this);
    this.queue.push(ticket);
    return ticket;
  }

  /** Messages whose acks are still held back (waiting for themselves or an earlier message). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** @internal Hands off every settled ack at the front of the line. */
  flush(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.outcome !== undefined) {
      this.queue[this.head++]!.handOff(this.onError);
    }
    // Compact now and then instead of Array#shift per message (O(n) with a long held-back line).
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
