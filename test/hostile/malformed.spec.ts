/**
 * Hostile broker: malformed, forbidden and oversize packets. The client closes with DISCONNECT 0x81 / 0x82 /
 * 0x95 (v5; 3.1.1 just closes), hands the application a typed error and rejects what was pending.
 */
import { describe, expect, it } from '@jest/globals';
import { encodePacket } from '../../lib/driver/codec/index.js';
import { MqttDisconnectedError } from '../../lib/driver/index.js';
import { useFakeBroker } from '../support/fake-broker.js';
import { settlesWithin } from '../support/messages.js';
import { connectClient, expectProtocolClose, raw, str, VERSIONS, type Watched } from './harness.js';

const broker = useFakeBroker();

/** A publish left unacknowledged by the broker, so the test can check that it is rejected. */
async function pendingPublish(w: Watched): Promise<{ settled: Promise<unknown> }> {
  const settled = w.client.publish('pending/topic', 'x', { qos: 1 }).catch((e: unknown) => e);
  await w.conn.next('publish');
  return { settled };
}

/** props(v): the empty property block on v5, nothing on v4. */
const props = (v: 4 | 5) => (v === 5 ? [0] : []);

interface Case {
  name: string;
  bytes: (v: 4 | 5) => Buffer;
  code: number;
  only?: 4 | 5;
}

const cases: Case[] = [
  { name: 'reserved packet type 0', bytes: () => Buffer.from([0x00, 0x00]), code: 0x81 },
  { name: 'PUBACK with reserved flag bits', bytes: () => raw(0x42, [0, 1]), code: 0x81 },
  {
    name: 'remaining length longer than 4 bytes',
    bytes: () => Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    code: 0x81,
  },
  { name: 'PUBLISH with QoS 3', bytes: (v) => raw(0x36, [...str('a/b'), 0, 1, ...props(v)]), code: 0x81 },
  { name: 'PUBLISH QoS 0 with DUP', bytes: (v) => raw(0x38, [...str('a'), ...props(v)]), code: 0x81 },
  { name: 'topic that is not UTF-8', bytes: (v) => raw(0x30, [...str([0xc3, 0x28]), ...props(v)]), code: 0x81 },
  { name: 'topic name with a wildcard', bytes: (v) => raw(0x30, [...str('a/+'), ...props(v)]), code: 0x81 },
  { name: 'string longer than the packet', bytes: () => raw(0x30, [0x00, 0x10, 0x61]), code: 0x81 },
  { name: 'property length beyond the packet', bytes: () => raw(0x40, [0, 1, 0, 5]), code: 0x81, only: 5 },
  { name: 'unknown property identifier', bytes: () => raw(0x30, [...str('a'), 2, 0x7f, 0]), code: 0x81, only: 5 },
  { name: 'AUTH packet on 3.1.1', bytes: () => Buffer.from([0xf0, 0x00]), code: 0x81, only: 4 },
  { name: 'empty topic without topic alias', bytes: () => raw(0x30, [0, 0, 0]), code: 0x82, only: 5 },
  {
    name: 'CONNECT sent by the server',
    bytes: (v) =>
      encodePacket({ type: 'connect', protocolVersion: v, clientId: 'x', cleanStart: true, keepalive: 0 }, v),
    code: 0x82,
  },
  {
    name: 'SUBSCRIBE sent by the server',
    bytes: (v) => encodePacket({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, v),
    code: 0x82,
  },
  { name: 'PINGREQ sent by the server', bytes: (v) => encodePacket({ type: 'pingreq' }, v), code: 0x82 },
  {
    name: 'a second CONNACK',
    bytes: (v) => encodePacket({ type: 'connack', sessionPresent: false, reasonCode: 0 }, v),
    code: 0x82,
  },
];

for (const v of VERSIONS) {
  describe(`v${v}: malformed and forbidden packets`, () => {
    for (const c of cases.filter((x) => x.only === undefined || x.only === v)) {
      it(`${c.name} → ${v === 5 ? `DISCONNECT 0x${c.code.toString(16)}` : 'close'}, typed error, pending publish rejected`, async () => {
        const w = await connectClient(broker, v);
        const pending = await pendingPublish(w);
        w.conn.sendRaw(c.bytes(v));
        await expectProtocolClose(w, c.code);
        expect(await settlesWithin(pending.settled, 5000, 'the pending publish')).toBeInstanceOf(MqttDisconnectedError);
      });
    }

    it('a malformed packet split across many small chunks is detected the same way', async () => {
      const w = await connectClient(broker, v);
      const bytes = raw(0x30, [...str([0xc3, 0x28]), ...props(v), 1, 2, 3]);
      for (const b of bytes) w.conn.sendRaw(Buffer.from([b]));
      await expectProtocolClose(w, 0x81);
    });
  });

  describe(`v${v}: packets larger than our Maximum Packet Size`, () => {
    it('an oversize PUBLISH → DISCONNECT 0x95 (v5), typed error', async () => {
      const w = await connectClient(broker, v, { maximumPacketSize: 1024 });
      if (v === 5) {
        const connectPacket = w.conn.received.find((p) => p.type === 'connect');
        expect(connectPacket?.type === 'connect' && connectPacket.properties?.maximumPacketSize).toBe(1024);
      }
      const pending = await pendingPublish(w);
      w.conn.send({ type: 'publish', topic: 'big', qos: 0, retain: false, dup: false, payload: Buffer.alloc(2000) });
      await expectProtocolClose(w, 0x95);
      expect(await settlesWithin(pending.settled, 5000, 'the pending publish')).toBeInstanceOf(MqttDisconnectedError);
    });

    it('a fixed header announcing 200 MB is refused before any body byte arrives (memory stays bounded)', async () => {
      const w = await connectClient(broker, v, { maximumPacketSize: 64 * 1024 });
      const before = process.memoryUsage();
      w.conn.sendRaw(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64])); // remaining length 200 MiB, no body
      await expectProtocolClose(w, 0x95);
      const after = process.memoryUsage();
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(16 * 1024 * 1024);
    });

    it('exactly Maximum Packet Size is accepted', async () => {
      const w = await connectClient(broker, v, { maximumPacketSize: 1024 });
      w.conn.autoRespond();
      const sub = await w.client.subscribe('big');
      const topicBytes = 2 + 3;
      const fixed = 1 + 2; // first byte + 2-byte remaining length (1021 > 127)
      const payload = Buffer.alloc(1024 - fixed - topicBytes - props(v).length, 7);
      w.conn.send({ type: 'publish', topic: 'big', qos: 0, retain: false, dup: false, payload });
      const it = sub[Symbol.asyncIterator]();
      const m = await settlesWithin(it.next(), 5000, 'the max-size message');
      expect(m.value?.payload.length).toBe(payload.length);
      expect(w.errors).toEqual([]);
      await w.client.disconnect();
    });
  });
}
