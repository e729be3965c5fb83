import { publishPacketSize } from './codec/index.js';
import type { ConnackProperties, ProtocolVersion, PublishPacket } from './codec/packets.js';
import { MqttPublishError } from './errors.js';

/**
 * MQTT 5: what the server's CONNACK allows (absent properties mean the spec's defaults). Both versions: sizing
 * the packet validates it (properties, string lengths), so a bad one rejects here and nothing is queued.
 */
export function checkServerLimits(
  packet: PublishPacket,
  protocolVersion: ProtocolVersion,
  serverProperties: ConnackProperties | undefined,
): void {
  if (protocolVersion !== 5) {
    publishPacketSize(packet, protocolVersion);
    return;
  }
  const sp = serverProperties ?? {};
  if (sp.maximumQoS !== undefined && packet.qos > sp.maximumQoS) {
    throw new MqttPublishError(`Server allows QoS <= ${sp.maximumQoS}; publish with a lower qos`, {
      reasonCode: 0x9b,
    });
  }
  if (packet.retain && sp.retainAvailable === false) {
    throw new MqttPublishError('Server does not support retained messages: publish with retain: false', {
      reasonCode: 0x9a,
    });
  }
  const alias = packet.properties?.topicAlias;
  if (alias !== undefined) {
    const max = sp.topicAliasMaximum ?? 0;
    if (!Number.isInteger(alias) || alias < 1 || alias > max) {
      throw new MqttPublishError(
        max === 0
          ? 'Server allows no topic aliases (Topic Alias Maximum 0): remove properties.topicAlias'
          : `Topic alias ${alias} exceeds the server's Topic Alias Maximum: use an alias from 1 to ${max}`,
        { reasonCode: 0x94 },
      );
    }
  }
  const size = publishPacketSize(packet, 5);
  if (sp.maximumPacketSize !== undefined) {
    if (size > sp.maximumPacketSize) {
      throw new MqttPublishError(
        `Packet of ${size} bytes exceeds the server's Maximum Packet Size ${sp.maximumPacketSize}`,
        { reasonCode: 0x95 },
      );
    }
  }
}
