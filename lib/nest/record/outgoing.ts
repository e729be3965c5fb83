import { MqttRecord } from '@nestjs/microservices';
import type { PublishOptions, PublishProperties, QoS, UserProperty } from '../../driver/index.js';
import { MqttAsyncRecord, type MqttAsyncRecordOptions } from './mqtt-async.record.js';

/** What `send()` / `emit()` publish: the payload to encode and the record's publish options. */
export interface OutgoingMessage {
  data: unknown;
  options: MqttAsyncRecordOptions;
}

/** Properties of Nest's `MqttRecordOptions` (MQTT.js shapes: user properties as a record, boolean indicator). */
interface NestRecordProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  subscriptionIdentifier?: number;
  contentType?: string;
}

/**
 * Splits a `send()` / `emit()` payload into data and publish options: our {@link MqttAsyncRecord}, Nest's own
 * `MqttRecord` (from `MqttRecordBuilder`, so code written for `ClientMqtt` keeps its QoS, retain, dup and
 * properties), or plain data (no options).
 */
export function unwrapRecord(data: unknown): OutgoingMessage {
  if (data instanceof MqttAsyncRecord) return { data: data.data, options: data.options };
  if (data instanceof MqttRecord) return { data: data.data, options: fromNestRecordOptions(data.options ?? {}) };
  return { data, options: {} };
}

function fromNestRecordOptions(options: NonNullable<MqttRecord['options']>): MqttAsyncRecordOptions {
  const out: MqttAsyncRecordOptions = {};
  if (options.qos !== undefined) out.qos = options.qos as QoS;
  if (options.retain !== undefined) out.retain = options.retain;
  if (options.dup !== undefined) out.dup = options.dup;
  if (options.properties) out.properties = fromNestProperties(options.properties as NestRecordProperties);
  return out;
}

/**
 * MQTT.js property shapes to the driver's. A Subscription Identifier is dropped: only a server may put one on a
 * PUBLISH (a client sending it is a protocol error, MQTT 5 section 3.3.2.3.8).
 */
function fromNestProperties(p: NestRecordProperties): PublishProperties {
  const out: PublishProperties = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator ? 1 : 0;
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval;
  if (p.topicAlias !== undefined) out.topicAlias = p.topicAlias;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = Buffer.from(p.correlationData);
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.userProperties) {
    const pairs: UserProperty[] = [];
    for (const [name, value] of Object.entries(p.userProperties)) {
      for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, String(v)]);
    }
    out.userProperties = pairs;
  }
  return out;
}

/**
 * The driver's publish options for a record: its QoS (else `defaultQos`), retain and dup, and its properties
 * under `fixed` (what the transport must set itself, e.g. an RPC's Response Topic and Correlation Data). The
 * encoded payload's Content Type applies unless the record sets one.
 */
export function publishOptionsOf(
  record: MqttAsyncRecordOptions,
  defaultQos: QoS,
  contentType: string | undefined,
  fixed: PublishProperties = {},
): PublishOptions {
  const properties: PublishProperties = { ...record.properties, ...fixed };
  if (contentType !== undefined && properties.contentType === undefined) properties.contentType = contentType;
  const options: PublishOptions = { qos: record.qos ?? defaultQos, retain: record.retain ?? false, properties };
  if (record.dup) options.dup = true;
  return options;
}
