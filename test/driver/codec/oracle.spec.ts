/**
 * Oracle: mqtt-packet must read our bytes as we meant them, and we must read its bytes as it meant them.
 * The generators are restricted to what mqtt-packet represents losslessly (see `representable`).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { encodePacket, PacketDecoder } from '../../../lib/driver/codec/index.js';
import type { Packet, ProtocolVersion } from '../../../lib/driver/codec/packets.js';
import { anyPacket } from './arbitraries.js';
import { fromMqttPacket, toMqttPacket } from './mqtt-packet-map.js';

/**
 * What mqtt-packet cannot express: repeated user property names; an empty client id with clean start 0
 * and a v5 password without user name (its generate() refuses both); the 2-byte AUTH short form (its parser rejects the omitted reason code).
 */
function representable(p: Packet): boolean {
  if (p.type === 'connect' && p.clientId === '' && !p.cleanStart) return false;
  if (p.type === 'connect' && p.password !== undefined && p.username === undefined) return false;
  if (p.type === 'auth' && p.reasonCode === 0 && p.properties === undefined) return false;
  return uniqueUserProps(p);
}

function uniqueUserProps(p: Packet): boolean {
  const all: unknown[] = [(p as { properties?: unknown }).properties];
  if (p.type === 'connect') all.push(p.will?.properties);
  return all.every((props) => {
    const ups = (props as { userProperties?: [string, string][] } | undefined)?.userProperties;
    return !ups || new Set(ups.map(([k]) => k)).size === ups.length;
  });
}

function parseWithMqttPacket(buf: Buffer, v: ProtocolVersion): unknown[] {
  const parser = mqttPacket.parser({ protocolVersion: v });
  const out: unknown[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p: unknown) => out.push(p));
  parser.on('error', (e: Error) => errors.push(e));
  parser.parse(buf);
  if (errors.length > 0) throw errors[0];
  return out;
}

describe.each([4, 5] as ProtocolVersion[])('oracle mqtt-packet, MQTT v%i', (v) => {
  const packets = anyPacket(v).filter(representable);

  it('mqtt-packet decodes our encoding to the same packet', () => {
    fc.assert(
      fc.property(packets, (p) => {
        const parsed = parseWithMqttPacket(encodePacket(p, v), v);
        expect(parsed.map((m) => fromMqttPacket(m, v))).toEqual([p]);
      }),
      { numRuns: 1000 },
    );
  });

  it('we decode mqtt-packet generate() output to the same packet', () => {
    fc.assert(
      fc.property(packets, (p) => {
        const bytes = mqttPacket.generate(toMqttPacket(p, v), { protocolVersion: v });
        expect(new PacketDecoder({ protocolVersion: v }).push(bytes)).toEqual([p]);
      }),
      { numRuns: 1000 },
    );
  });
});
