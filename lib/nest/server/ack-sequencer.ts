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
  /** When it was received (only when an ack watch is on). */
  receivedAt = 0;
  /** The ack watch reported it already. */
  reported = false;
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

/** Watches the oldest unsettled message of a subscription (`ackTimeout` / `onAckTimeout`). */
export interface AckWatch {
  /** Milliseconds a message may stay unsettled. */
  timeout: number;
  /** `'nack'` settles it after the timeout (0x80); `'warn'` only reports it. */
  action: 'warn' | 'nack';
  /** Called once per message that outlived `timeout`, with its age and how many acks wait behind it. */
  report(message: MqttMessage, ageMs: number, waitingBehind: number): void;
}

/**
 * Releases acks in the order messages were received, whatever order handlers finish in (MQTT 5 §4.6).
 * One per subscription: a manual-ack message that is never acknowledged holds back the acks behind it.
 */
export class AckSequencer {
  private readonly queue: Ticket[] = [];
  private head = 0;
  /** One timer per subscription, for the oldest unsettled message (the head of the line), never one per message. */
  private timer: NodeJS.Timeout | undefined;
  private watched: Ticket | undefined;

  constructor(
    private readonly onError: (err: unknown) => void,
    private readonly watch?: AckWatch,
  ) {}

  /** Takes a place in line for `message`; call in receive order. */
  enqueue(message: MqttMessage): AckTicket {
    const ticket = new Ticket(message, this);
    this.queue.push(ticket);
    if (this.watch) {
      ticket.receivedAt = Date.now();
      if (!this.timer) this.arm();
    }
    return ticket;
  }

  /** Stops the ack watch (the subscription ended). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const head = this.queue[this.head];
    if (!this.watch || !head || head.reported) return;
    this.watched = head;
    const delay = Math.max(0, head.receivedAt + this.watch.timeout - Date.now());
    this.timer = setTimeout(() => this.expire(), delay);
    this.timer.unref?.();
  }

  /** The timer fired: report (and maybe nack) the head if it is still the one watched, else watch the new head. */
  private expire(): void {
    this.timer = undefined;
    const head = this.queue[this.head];
    const watch = this.watch;
    if (!watch || !head) return;
    if (head !== this.watched || Date.now() - head.receivedAt < watch.timeout) {
      this.arm();
      return;
    }
    head.reported = true;
    watch.report(head.message, Date.now() - head.receivedAt, this.pending - 1);
    if (watch.action === 'nack') void head.nack(0x80); // flushes, and watches the next head
  }

  /** Messages whose acks are still held back (waiting for themselves or an earlier message). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** @internal Hands off every settled ack at the front of the line. */
  flush(): void {
    const before = this.head;
    while (this.head < this.queue.length && this.queue[this.head]!.outcome !== undefined) {
      this.queue[this.head++]!.handOff(this.onError);
    }
    const moved = this.head !== before;
    // Compact now and then instead of Array#shift per message (O(n) with a long held-back line).
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (moved && this.watch && !this.timer) this.arm();
  }
}
