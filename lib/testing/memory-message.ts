import type { PublishProperties, QoS } from '../driver/index.js';
import { InboundMessage } from '../driver/message.js';
import type { MemoryClient } from './memory-client.js';
import type { BrokerPublish } from './session.js';

/** How a delivered QoS 1/2 message was settled by its receiver. */
export type AckState = 'pending' | 'acked' | 'nacked';

/** The broker-side record of one delivery; shared by the message the client sees and the broker's bookkeeping. */
export interface Delivery {
  readonly id: number;
  readonly clientId: string;
  readonly client: MemoryClient;
  readonly message: MemoryMessage;
  state: AckState;
  /** Reason code of the acknowledgement (0 for ack, the nack code otherwise). */
  reasonCode?: number;
}

export interface MemoryMessageInit {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  properties: PublishProperties;
  protocolVersion: 4 | 5;
  packetId?: number;
}

/**
 * An `MqttMessage` delivered by the in-memory broker: the driver's `InboundMessage` (same fields, same idempotent
 * `ack()` / `nack()`), whose settlement goes to the broker, which keeps unacknowledged QoS 1/2 deliveries visible
 * through `unacked()`, instead of to a PUBACK queue.
 */
export class MemoryMessage extends InboundMessage {
  constructor(
    init: MemoryMessageInit,
    /** The PUBLISH this message is a copy of. */
    readonly source: BrokerPublish,
  ) {
    super(init, undefined, init.protocolVersion);
  }

  /** The broker tracks this QoS 1/2 delivery until it is settled. */
  bind(onSettle: (reasonCode: number) => void): void {
    this.settle = onSettle;
  }

  /** Settles without reporting an acknowledgement (a copy that was dropped, never delivered). */
  discard(): void {
    this.settle?.(0);
    this.settled = true;
  }

  /** Adds the subscription identifier of the Subscription a held message finally went to (MQTT 5). */
  tagSubscription(id: number | undefined): void {
    if (id !== undefined && this.protocolVersion === 5) this.properties.subscriptionIdentifier = [id];
  }
}
