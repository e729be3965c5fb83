import { BaseRpcContext } from '@nestjs/microservices';
import type { MqttMessage, PublishProperties, QoS } from '../../driver/index.js';

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
