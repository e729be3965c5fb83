/**
 * MQTT control packets as plain objects, shared by MQTT 3.1.1 (protocol level 4) and 5.0
 * (level 5). Field names are camelCase of the spec's names. Fields that only exist in MQTT 5
 * (properties, most reason codes) are ignored by the 3.1.1 encoder and never set by its decoder.
 *
 * The decoder leaves `properties` undefined when a packet carried none.
 */

export type ProtocolVersion = 4 | 5;
export type QoS = 0 | 1 | 2;

/** A User Property: name and value, in wire order. Repeated names are kept. */
export type UserProperty = [name: string, value: string];

/** Every MQTT 5 property (section 2.2.2.2), as one shape; each packet allows a subset. */
export interface AllProperties {
  payloadFormatIndicator?: 0 | 1;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  /** PUBLISH: every identifier that matched (may repeat). SUBSCRIBE: exactly one. */
  subscriptionIdentifier?: number | number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Buffer;
  requestProblemInformation?: boolean;
  willDelayInterval?: number;
  requestResponseInformation?: boolean;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: 0 | 1;
  retainAvailable?: boolean;
  userProperties?: UserProperty[];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: boolean;
  subscriptionIdentifierAvailable?: boolean;
  sharedSubscriptionAvailable?: boolean;
}

export type ConnectProperties = Pick<
  AllProperties,
  | 'sessionExpiryInterval'
  | 'receiveMaximum'
  | 'maximumPacketSize'
  | 'topicAliasMaximum'
  | 'requestResponseInformation'
  | 'requestProblemInformation'
  | 'userProperties'
  | 'authenticationMethod'
  | 'authenticationData'
>;

export type WillProperties = Pick<
  AllProperties,
  | 'willDelayInterval'
  | 'payloadFormatIndicator'
  | 'messageExpiryInterval'
  | 'contentType'
  | 'responseTopic'
  | 'correlationData'
  | 'userProperties'
>;

export type ConnackProperties = Pick<
  AllProperties,
  | 'sessionExpiryInterval'
  | 'receiveMaximum'
  | 'maximumQoS'
  | 'retainAvailable'
  | 'maximumPacketSize'
  | 'assignedClientIdentifier'
  | 'topicAliasMaximum'
  | 'reasonString'
  | 'userProperties'
  | 'wildcardSubscriptionAvailable'
  | 'subscriptionIdentifierAvailable'
  | 'sharedSubscriptionAvailable'
  | 'serverKeepAlive'
  | 'responseInformation'
  | 'serverReference'
  | 'authenticationMethod'
  | 'authenticationData'
>;

export interface PublishProperties
  extends Pick<
    AllProperties,
    | 'payloadFormatIndicator'
    | 'messageExpiryInterval'
    | 'topicAlias'
    | 'responseTopic'
    | 'correlationData'
    | 'userProperties'
    | 'contentType'
  > {
  /** Set by a server on PUBLISH it sends: the identifiers of every matching subscription. */
  subscriptionIdentifier?: number[];
}

/** Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK. */
export type AckProperties = Pick<AllProperties, 'reasonString' | 'userProperties'>;

export interface SubscribeProperties extends Pick<AllProperties, 'userProperties'> {
  subscriptionIdentifier?: number;
}

export type UnsubscribeProperties = Pick<AllProperties, 'userProperties'>;

export type DisconnectProperties = Pick<
  AllProperties,
  'sessionExpiryInterval' | 'reasonString' | 'userProperties' | 'serverReference'
>;

export type AuthProperties = Pick<
  AllProperties,
  'authenticationMethod' | 'authenticationData' | 'reasonString' | 'userProperties'
>;

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: WillProperties;
}

export interface ConnectPacket {
  type: 'connect';
  protocolVersion: ProtocolVersion;
  clientId: string;
  /** Clean Start (MQTT 5) / Clean Session (MQTT 3.1.1). */
  cleanStart: boolean;
  /** Keep Alive in seconds; 0 disables it. */
  keepalive: number;
  username?: string;
  password?: Buffer;
  will?: Will;
  properties?: ConnectProperties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** MQTT 5 reason code; on MQTT 3.1.1 the CONNACK return code (0–5). */
  reasonCode: number;
  properties?: ConnackProperties;
}

export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when qos > 0. */
  packetId?: number;
  properties?: PublishProperties;
}

interface AckPacket {
  packetId: number;
  /** MQTT 5 only; 0 (Success) when the packet omitted it. */
  reasonCode?: number;
  properties?: AckProperties;
}

export interface PubackPacket extends AckPacket {
  type: 'puback';
}
export interface PubrecPacket extends AckPacket {
  type: 'pubrec';
}
export interface PubrelPacket extends AckPacket {
  type: 'pubrel';
}
export interface PubcompPacket extends AckPacket {
  type: 'pubcomp';
}

/** Retain Handling subscription option: 0 send retained, 1 only if new, 2 never. */
export type RetainHandling = 0 | 1 | 2;

export interface SubscriptionRequest {
  topicFilter: string;
  qos: QoS;
  /** MQTT 5 subscription options; ignored on 3.1.1. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: RetainHandling;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: SubscriptionRequest[];
  properties?: SubscribeProperties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** One per requested filter: granted QoS (0–2) or a failure code (>= 0x80). */
  reasonCodes: number[];
  properties?: AckProperties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
  properties?: UnsubscribeProperties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** MQTT 5: one per filter. MQTT 3.1.1 carries none: empty array. */
  reasonCodes: number[];
  properties?: AckProperties;
}

export interface PingreqPacket {
  type: 'pingreq';
}
export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** MQTT 5 only; 0 (Normal disconnection) when omitted. */
  reasonCode?: number;
  properties?: DisconnectProperties;
}

export interface AuthPacket {
  type: 'auth';
  reasonCode?: number;
  properties?: AuthProperties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketType = Packet['type'];

/** Control packet type numbers from the fixed header (bits 7–4 of byte 1). */
export const PACKET_TYPE_CODES: Readonly<Record<PacketType, number>> = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
};
