import { Fifo } from '../fifo.js';

/** One inbound QoS>0 PUBLISH waiting for its acknowledgement. */
interface PendingAck {
  packetId: number;
  qos: 1 | 2;
  /** Set once every consumer acked/nacked: the reason code to send. */
  reasonCode?: number;
  /** Consumers that still have to ack before the PUBACK/PUBREC may leave. */
  holders: number;
}

/**
 * Inbound QoS 1/2 bookkeeping: acknowledgements leave in receive order (a later ack waits for earlier ones),
 * QoS 2 packet ids awaiting PUBREL are remembered so a retransmission is not delivered twice.
 */
export class InboundAcks {
  private readonly pending = new Fifo<PendingAck>();
  /** Packet ids of the QoS 2 entries in `pending`, for an O(1) duplicate check. */
  private readonly pendingQos2 = new Set<number>();
  /** QoS 2 packet ids that got PUBREC and wait for PUBREL. */
  readonly awaitingRelease = new Set<number>();

  constructor(private readonly send: (qos: 1 | 2, packetId: number, reasonCode: number) => void) {}

  /** What counts against our Receive Maximum: QoS 1 until PUBACK, QoS 2 until PUBCOMP (PUBREL received). */
  get unacknowledged(): number {
    return this.pending.length + this.awaitingRelease.size;
  }

  isDuplicateQos2(packetId: number): boolean {
    return this.awaitingRelease.has(packetId) || this.pendingQos2.has(packetId);
  }

  track(packetId: number, qos: 1 | 2, holders: number): PendingAck {
    const entry: PendingAck = { packetId, qos, holders: Math.max(holders, 1) };
    this.enqueue(entry);
    return entry;
  }

  /** A consumer acknowledged (reasonCode 0) or refused (>= 0x80) the message. */
  settle(entry: PendingAck, reasonCode: number): void {
    if (reasonCode >= 0x80 && entry.reasonCode === undefined) entry.reasonCode = reasonCode;
    entry.holders--;
    if (entry.holders <= 0 && entry.reasonCode === undefined) entry.reasonCode = 0;
    this.flush();
  }

  private enqueue(entry: PendingAck): void {
    this.pending.push(entry);
    if (entry.qos === 2) this.pendingQos2.add(entry.packetId);
  }

  private flush(): void {
    while (this.pending.length > 0 && (this.pending.peek() as PendingAck).holders <= 0) {
      const e = this.pending.shift() as PendingAck;
      if (e.qos === 2) this.pendingQos2.delete(e.packetId);
      const code = e.reasonCode ?? 0;
      if (e.qos === 2 && code < 0x80) this.awaitingRelease.add(e.packetId);
      this.send(e.qos, e.packetId, code);
    }
  }

  /**
   * Connection lost. Messages already handed to the application keep their entry: the broker resends them
   * (DUP) on the resumed session, and `reattach` then binds that resend to the entry instead of delivering the
   * message a second time. Bounded by our Receive Maximum.
   */
  reset(): void {
    for (const e of this.pending) this.carried.set(e.packetId, e);
    this.pending.clear();
    this.pendingQos2.clear();
  }

  /** The session was not resumed: the broker resends nothing, so carried entries are void. */
  sessionLost(): void {
    this.carried.clear();
    this.awaitingRelease.clear();
  }

  /**
   * A PUBLISH after a reconnect: when it is the DUP resend of a message the application already holds, re-track
   * that entry on this connection (its ack goes out when the application acks, or now if it already did) and
   * return true — the message must not be delivered again. A non-DUP PUBLISH reusing the id voids the old entry.
   */
  reattach(packetId: number, qos: 1 | 2, dup: boolean): boolean {
    const e = this.carried.get(packetId);
    if (!e) return false;
    this.carried.delete(packetId);
    if (!dup || e.qos !== qos) return false;
    this.enqueue(e);
    this.flush();
    return true;
  }

  private readonly carried = new Map<number, PendingAck>();
}

export type { PendingAck };
