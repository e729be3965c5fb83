import type { AckProperties, PublishPacket } from '../codec/packets.js';
import { MqttDisconnectedError, MqttPublishError } from '../errors.js';
import { Fifo } from '../fifo.js';
import type { PublishResult } from '../types.js';
import { PacketIds } from './packet-ids.js';

interface InFlight {
  packet: PublishPacket;
  /** 'publish': waiting PUBACK/PUBREC; 'pubrel': PUBREL sent, waiting PUBCOMP. */
  stage: 'publish' | 'pubrel';
  resolve: (r: PublishResult) => void;
  reject: (e: Error) => void;
  result?: PublishResult;
  /** `limitsVersion` the packet was last checked against. */
  checkedFor: number;
}

/**
 * Outgoing QoS 1/2 state. At most `receiveMaximum` (the server's) are in flight; the excess waits locally in
 * order. On a resumed session in-flight messages are resent (PUBLISH with DUP, or PUBREL) in order; without
 * session they are resent as new messages (documented choice: no loss, possible duplicate at QoS 1/2).
 */
export class Outbound {
  readonly ids = new PacketIds();
  private readonly inFlight = new Map<number, InFlight>();
  private readonly waiting = new Fifo<InFlight>();
  receiveMaximum = 65535;
  /** Bound on locally queued publishes (beyond the in-flight window). */
  maxQueued = 100_000;
  /**
   * Bumped on every CONNACK: a publish that waited across a reconnect is checked again against the new server's
   * limits (Maximum QoS, Retain Available, Topic Alias Maximum, Maximum Packet Size) before it is first sent, and
   * rejected instead of sent when it no longer fits — sending it would get the connection cut, again and again.
   */
  limitsVersion = 0;

  constructor(
    private readonly write: (p: PublishPacket | { type: 'pubrel'; packetId: number }) => void,
    private readonly recheck: (p: PublishPacket) => void = () => undefined,
  ) {}

  get size(): number {
    return this.inFlight.size + this.waiting.length;
  }

  submit(packet: PublishPacket, online: boolean): Promise<PublishResult> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length >= this.maxQueued) {
        reject(new MqttPublishError(`More than ${this.maxQueued} publishes queued: slow down or await them`));
        return;
      }
      const entry: InFlight = { packet, stage: 'publish', resolve, reject, checkedFor: this.limitsVersion };
      this.waiting.push(entry);
      if (online) this.pump();
    });
  }

  /** Moves queued publishes into flight while the server's Receive Maximum allows. */
  pump(): void {
    while (this.waiting.length > 0 && this.inFlight.size < this.receiveMaximum) {
      const e = this.waiting.shift() as InFlight;
      if (e.checkedFor !== this.limitsVersion && !this.stillAllowed(e)) continue;
      e.packet.packetId = this.ids.allocate();
      this.inFlight.set(e.packet.packetId, e);
      this.write(e.packet);
    }
  }

  private stillAllowed(e: InFlight): boolean {
    try {
      this.recheck(e.packet);
    } catch (err) {
      e.reject(err as Error);
      return false;
    }
    e.checkedFor = this.limitsVersion;
    return true;
  }

  onPuback(packetId: number, reasonCode = 0, properties?: AckProperties): void {
    const e = this.inFlight.get(packetId);
    if (e === undefined || e.stage !== 'publish') return;
    this.finish(packetId);
    if (e.packet.qos === 2) {
      // RabbitMQ's MQTT plugin (3.x) takes a QoS 2 PUBLISH as QoS 1 and answers PUBACK: the exchange is over
      // (the id is free) but exactly-once was not given. Reject, so nobody relies on it; retrying duplicates.
      e.reject(
        new MqttPublishError(
          `The broker answered a QoS 2 publish to ${e.packet.topic} with PUBACK: it does not complete QoS 2 ` +
            'flows (RabbitMQ takes QoS 2 as QoS 1). The message was accepted at QoS 1 (at least once), so a ' +
            'retry may duplicate it; publish with qos: 1 to this broker',
        ),
      );
      return;
    }
    if (reasonCode >= 0x80)
      e.reject(new MqttPublishError(`Broker refused publish to ${e.packet.topic}`, { reasonCode }));
    else e.resolve({ packetId, reasonCode, properties });
  }

  /** Returns true when a PUBREL must be sent. */
  onPubrec(packetId: number, reasonCode = 0, properties?: AckProperties): boolean {
    const e = this.inFlight.get(packetId);
    if (e?.packet.qos !== 2) return false;
    if (reasonCode >= 0x80) {
      this.finish(packetId);
      e.reject(new MqttPublishError(`Broker refused publish to ${e.packet.topic}`, { reasonCode }));
      return false;
    }
    e.stage = 'pubrel';
    e.result = { packetId, reasonCode, properties };
    return true;
  }

  onPubcomp(packetId: number): void {
    const e = this.inFlight.get(packetId);
    if (e?.stage !== 'pubrel') return;
    this.finish(packetId);
    e.resolve(e.result ?? { packetId, reasonCode: 0 });
  }

  private finish(packetId: number): void {
    this.inFlight.delete(packetId);
    this.ids.release(packetId);
    this.pump();
  }

  /** After CONNACK: resend in order (DUP or PUBREL when the session resumed, as new otherwise). */
  resume(sessionPresent: boolean): void {
    const entries = [...this.inFlight.values()];
    if (sessionPresent) {
      for (const e of entries) {
        if (e.stage === 'pubrel') this.write({ type: 'pubrel', packetId: e.packet.packetId as number });
        else this.write({ ...e.packet, dup: true });
      }
    } else {
      this.inFlight.clear();
      for (const e of entries) {
        this.ids.release(e.packet.packetId as number);
        e.stage = 'publish';
        e.packet.dup = false;
      }
      this.waiting.unshiftAll(entries);
    }
    this.pump();
  }

  rejectAll(message: string): void {
    const all = [...this.inFlight.values(), ...this.waiting];
    this.inFlight.clear();
    this.waiting.clear();
    for (const e of all) {
      if (e.packet.packetId) this.ids.release(e.packet.packetId);
      e.reject(new MqttDisconnectedError(message));
    }
  }
}
