import type { PublishPacket, PublishProperties, QoS } from './codec/packets.js';
import type { MqttMessage } from './types.js';

/** Default of the `maxUserProperties` option: user properties accepted on one inbound PUBLISH. */
export const DEFAULT_MAX_USER_PROPERTIES = 1000;

/**
 * Groups user properties into a record; a repeated name becomes an array in wire order. Linear time (a repeat
 * appends to the array this function made, where copying it per repeat took 57 s for 30,000 repeats) and on a
 * prototype-less object, so names like `__proto__` or `constructor` are plain keys.
 */
export function userPropertyRecord(props: PublishProperties | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  const list = props?.userProperties;
  if (list === undefined) return out;
  // An index loop: destructuring for-of made an iterator and an array view per property on every message.
  for (let i = 0; i < list.length; i++) {
    const pair = list[i]!;
    const k = pair[0];
    const v = pair[1];
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (typeof prev === 'string') out[k] = [prev, v];
    else prev.push(v);
  }
  return out;
}

/**
 * A delivered PUBLISH; `ack()`/`nack()` are idempotent and forward once to `settle`. Where the settlement goes is
 * the only thing that differs between a network client (the PUBACK/PUBREC queue) and the in-memory test broker
 * (its delivery log, lib/testing/memory-message.ts extends this class): subclasses may set `settle` later.
 */
export class InboundMessage implements MqttMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly properties: PublishProperties;
  readonly userProperties: Record<string, string | string[]>;
  readonly packetId?: number;
  /** Set once ack()/nack() forwarded to `settle`: later calls do nothing. */
  protected settled = false;

  constructor(
    /** The PUBLISH as decoded (or, in the test broker, as routed): its `type` is not read. */
    packet: Omit<PublishPacket, 'type'>,
    protected settle: ((reasonCode: number) => void) | undefined,
    protected readonly protocolVersion: 4 | 5,
  ) {
    this.topic = packet.topic;
    this.payload = packet.payload;
    this.qos = packet.qos;
    this.retain = packet.retain;
    this.dup = packet.dup;
    this.properties = packet.properties ?? {};
    this.userProperties = userPropertyRecord(packet.properties);
    if (packet.packetId !== undefined) this.packetId = packet.packetId;
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
      this.settle?.(code);
    }
    return Promise.resolve();
  }
}
