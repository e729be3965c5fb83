import { type PublishProperties, type QoS, topicMatches } from '../driver/index.js';
import { userPropertyRecord } from '../driver/message.js';
import { decodeMqttPayload } from '../nest/index.js';
import type { Delivery } from './memory-message.js';
import type { BrokerPublish } from './session.js';

/** A PUBLISH the broker accepted, as `published()` and `waitFor()` report it. */
export interface PublishedRecord {
  topic: string;
  /** The payload decoded as the transport decodes it: JSON, a string, or the bytes (the bytes when undecodable). */
  payload: unknown;
  rawPayload: Buffer;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 properties as published (empty on 3.1.1). */
  properties: PublishProperties;
  /** User properties as a record; a repeated name gives an array in wire order. */
  userProperties: Record<string, string | string[]>;
  /** Client identifier of the publisher. */
  clientId: string;
}

/** A QoS 1/2 message delivered to a client that has not acknowledged it (yet). */
export interface UnackedRecord extends Omit<PublishedRecord, 'clientId'> {
  /** The receiving client. */
  clientId: string;
  dup: boolean;
}

/** A topic filter (wildcards allowed) or a predicate over records. */
export type RecordFilter<R> = string | ((record: R) => boolean);

function decoded(topic: string, payload: Buffer, properties: PublishProperties): unknown {
  const result = decodeMqttPayload({ topic, payload, properties } as Parameters<typeof decodeMqttPayload>[0]);
  return result.ok ? result.value : payload;
}

export function toPublishedRecord(p: BrokerPublish): PublishedRecord {
  return {
    topic: p.topic,
    payload: decoded(p.topic, p.payload, p.properties),
    rawPayload: p.payload,
    qos: p.qos,
    retain: p.retain,
    properties: p.properties,
    userProperties: userPropertyRecord(p.properties),
    clientId: p.publisher,
  };
}

export function toUnackedRecord(d: Delivery): UnackedRecord {
  const m = d.message;
  return {
    topic: m.topic,
    payload: decoded(m.topic, m.payload, m.properties),
    rawPayload: m.payload,
    qos: m.qos,
    retain: m.retain,
    dup: m.dup,
    properties: m.properties,
    userProperties: m.userProperties,
    clientId: d.clientId,
  };
}

/** Applies a filter: a topic filter matches by MQTT rules, a function decides itself, none matches all. */
export function matching<R extends { topic: string }>(records: R[], filter?: RecordFilter<R>): R[] {
  if (filter === undefined) return records;
  if (typeof filter === 'function') return records.filter(filter);
  return records.filter((r) => topicMatches(filter, r.topic));
}
