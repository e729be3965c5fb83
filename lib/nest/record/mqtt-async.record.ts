import type { PublishProperties, QoS, UserProperty } from '../../driver/index.js';

/** Per-message publish options carried by a {@link MqttAsyncRecord}. */
export interface MqttAsyncRecordOptions {
  qos?: QoS;
  retain?: boolean;
  /** Sets the PUBLISH's DUP flag (QoS 1/2 only; as Nest's `MqttRecordBuilder.setDup()`). */
  dup?: boolean;
  properties?: PublishProperties;
}

/** Wraps an outgoing payload with MQTT publish options (QoS, retain, MQTT 5 properties). */
export class MqttAsyncRecord<TData = unknown> {
  constructor(
    public readonly data: TData,
    public readonly options: MqttAsyncRecordOptions = {},
  ) {}
}

/** Fluent builder of {@link MqttAsyncRecord}: `new MqttAsyncRecordBuilder(data).setQos(1).build()`. */
export class MqttAsyncRecordBuilder<TData = unknown> {
  private options: MqttAsyncRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  setQos(qos: QoS): this {
    this.options.qos = qos;
    return this;
  }

  setRetain(retain: boolean): this {
    this.options.retain = retain;
    return this;
  }

  setDup(dup: boolean): this {
    this.options.dup = dup;
    return this;
  }

  /** Merges MQTT 5 PUBLISH properties into those already set. */
  setProperties(properties: PublishProperties): this {
    this.options.properties = { ...this.options.properties, ...properties };
    return this;
  }

  /** Sets MQTT 5 user properties from a record (`{ key: 'value' }`) or name/value pairs. */
  setUserProperties(userProperties: Record<string, string> | UserProperty[]): this {
    const pairs = Array.isArray(userProperties) ? userProperties : Object.entries(userProperties);
    return this.setProperties({ userProperties: pairs.map(([k, v]) => [k, String(v)] as UserProperty) });
  }

  setContentType(contentType: string): this {
    return this.setProperties({ contentType });
  }

  setResponseTopic(responseTopic: string): this {
    return this.setProperties({ responseTopic });
  }

  setCorrelationData(correlationData: Uint8Array | string): this {
    const bytes = typeof correlationData === 'string' ? Buffer.from(correlationData) : correlationData;
    return this.setProperties({ correlationData: bytes } as PublishProperties);
  }

  setMessageExpiryInterval(seconds: number): this {
    return this.setProperties({ messageExpiryInterval: seconds });
  }

  build(): MqttAsyncRecord<TData> {
    return new MqttAsyncRecord(this.data as TData, {
      ...this.options,
      properties: this.options.properties && { ...this.options.properties },
    });
  }
}
