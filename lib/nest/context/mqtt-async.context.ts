import { BaseRpcContext } from '@nestjs/microservices';
import type { MqttMessage, PublishProperties, QoS } from '../../driver/index.js';

/**
 * MQTT 5 PUBLISH properties in the shapes of Nest's built-in `MqttContext.getPacket().properties` (MQTT.js):
 * user properties as a record, the payload format indicator as a boolean.
 */
export interface MqttAsyncPacketProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  subscriptionIdentifier?: number | number[];
  contentType?: string;
}

/** The received PUBLISH as Nest's built-in `MqttContext.getPacket()` describes it, for code written for it. */
export interface MqttAsyncPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Packet Identifier (QoS 1/2 only). */
  messageId?: number;
  /** MQTT 5 properties (absent on 3.1.1 or when the PUBLISH had none). */
  properties?: MqttAsyncPacketProperties;
}

/** What a handler's context carries; `ack`/`nack` are wired by the server. */
export interface MqttAsyncContextArgs {
  topic: string;
  params: Record<string, string>;
  pattern: string;
  message: MqttMessage;
  ack: () => Promise<void>;
  nack: (reasonCode?: number) => Promise<void>;
}

/**
 * The `@Ctx()` of `ServerMqttAsync` handlers: topic, path params, the driver message and ack control.
 * `getArgs()` is `[topic, message]`, like Nest's own `MqttContext`.
 */
export class MqttAsyncContext extends BaseRpcContext<[string, MqttMessage]> {
  constructor(private readonly info: MqttAsyncContextArgs) {
    super([info.topic, info.message]);
  }

  /** The topic the message was published to (never the `$share` filter). */
  getTopic(): string {
    return this.info.topic;
  }

  /** Values of the pattern's `{name}` / `:name` levels. */
  getParams(): Record<string, string> {
    return this.info.params;
  }

  /** The handler pattern that matched, as written on the decorator. */
  getPattern(): string {
    return this.info.pattern;
  }

  /**
   * The received PUBLISH in the shape of Nest's built-in `MqttContext.getPacket()` (`topic`, `payload`, `qos`,
   * `retain`, `dup`, `messageId`, `properties`), so handler code written for `Transport.MQTT` runs unchanged.
   */
  getPacket(): MqttAsyncPacket {
    const m = this.info.message;
    const packet: MqttAsyncPacket = {
      cmd: 'publish',
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      dup: m.dup,
    };
    if (m.packetId !== undefined) packet.messageId = m.packetId;
    const properties = toPacketProperties(m);
    if (properties) packet.properties = properties;
    return packet;
  }

  /** The driver message (payload bytes, properties, dup flag...). */
  getMessage(): MqttMessage {
    return this.info.message;
  }

  /** MQTT 5 PUBLISH properties (empty on 3.1.1). */
  getProperties(): PublishProperties {
    return this.info.message.properties;
  }

  /** MQTT 5 user properties; a repeated name gives an array in wire order. */
  getUserProperties(): Record<string, string | string[]> {
    return this.info.message.userProperties;
  }

  getQos(): QoS {
    return this.info.message.qos;
  }

  isRetained(): boolean {
    return this.info.message.retain;
  }

  /** Acknowledges the message (only meaningful with `ack: 'manual'`; acks still leave in receive order). */
  ack(): Promise<void> {
    return this.info.ack();
  }

  /** MQTT 5: acknowledges with an error reason code (default 0x80). On 3.1.1 it acknowledges. */
  nack(reasonCode?: number): Promise<void> {
    return this.info.nack(reasonCode);
  }
}

function toPacketProperties(m: MqttMessage): MqttAsyncPacketProperties | undefined {
  const p = m.properties;
  const out: MqttAsyncPacketProperties = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator === 1;
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval;
  if (p.topicAlias !== undefined) out.topicAlias = p.topicAlias;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = p.correlationData;
  if (p.userProperties !== undefined && p.userProperties.length > 0) out.userProperties = m.userProperties;
  if (p.subscriptionIdentifier !== undefined) {
    const ids = p.subscriptionIdentifier;
    out.subscriptionIdentifier = ids.length === 1 ? ids[0]! : [...ids];
  }
  if (p.contentType !== undefined) out.contentType = p.contentType;
  return Object.keys(out).length > 0 ? out : undefined;
}
