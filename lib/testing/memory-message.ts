import type { MqttMessage, PublishProperties, QoS } from '../driver/index.js';
import { userPropertyRecord } from '../driver/message.js';
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
 * An `MqttMessage` delivered by the in-memory broker. `ack()` / `nack()` are idempotent, like the driver's, and
 * report to the broker, which keeps unacknowledged QoS 1/2 deliveries visible through `unacked()`.
 */
export class MemoryMessage implements MqttMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly properties: PublishProperties;
  readonly userProperties: Record<string, string | string[]>;
  readonly packetId?: number;
  private readonly protocolVersion: 4 | 5;
  private settled = false;
  private onSettle: ((reasonCode: number) => void) | undefined;

  constructor(
    init: MemoryMessageInit,
    /** The PUBLISH this message is a copy of. */
    readonly source: BrokerPublish,
  ) {
    this.topic = init.topic;
    this.payload = init.payload;
    this.qos = init.qos;
    this.retain = init.retain;
    this.dup = init.dup;
    this.properties = init.properties;
    this.userProperties = userPropertyRecord(init.properties);
    this.protocolVersion = init.protocolVersion;
    if (init.packetId !== undefined) this.packetId = init.packetId;
  }

  /** The broker tracks this QoS 1/2 delivery until it is settled. */
  bind(onSettle: (reasonCode: number) => void): void {
    this.onSettle = onSettle;
  }

  /** Settles without reporting an acknowledgement (a copy that was dropped, never delivered). */
  discard(): void {
    this.onSettle?.(0);
    this.settled = true;
  }

  /** Adds the subscription identifier of the Subscription a held message finally went to (MQTT 5). */
  tagSubscription(id: number | undefined): void {
    if (id !== undefined && this.protocolVersion === 5) this.properties.subscriptionIdentifier = [id];
  }

  ack(): Promise<void> {
    return this.finish(0);
  }

  nack(reasonCode = 0x80): Promise<void> {
    return this.finish(this.protocolVersion === 5 ? reasonCode : 0);
  }

  private finish(code: number): Promise<void> {
    if (!this.settled) {
      this.settled = true;
      this.onSettle?.(code);
    }
    return Promise.resolve();
  }
}
