/**
 * Codec benchmark: PUBLISH (QoS 1, 64-byte payload) encode and decode, ours vs mqtt-packet, in packets/s.
 * Decode feeds one large buffer of many packets in 64 KiB chunks to both. Run: npm run bench:codec
 */
import { writeFileSync } from 'node:fs';
import mqttPacket from 'mqtt-packet';
import { encodePacket, PacketDecoder } from '../dist/driver/index.js';
import { chunks, environment, medianRate } from './lib/measure.mjs';

const N = 50_000;
const payload = Buffer.alloc(64, 0x61);
const props = {
  contentType: 'application/json',
  responseTopic: 'reply/to/me',
  correlationData: Buffer.from('0123456789abcdef'),
  userProperties: [
    ['trace', 'abc123'],
    ['tenant', 'acme'],
  ],
  messageExpiryInterval: 60,
};

const cases = [
  { name: 'v4 no properties', version: 4, properties: undefined },
  { name: 'v5 no properties', version: 5, properties: undefined },
  { name: 'v5 with properties', version: 5, properties: props },
];

function ourPacket(c, i) {
  const p = {
    type: 'publish',
    topic: 'sensors/room1/temp',
    payload,
    qos: 1,
    retain: false,
    dup: false,
    packetId: (i % 65535) + 1,
  };
  if (c.properties) p.properties = c.properties;
  return p;
}

function theirPacket(c, i) {
  const p = {
    cmd: 'publish',
    topic: 'sensors/room1/temp',
    payload,
    qos: 1,
    retain: false,
    dup: false,
    messageId: (i % 65535) + 1,
  };
  if (c.properties) p.properties = { ...c.properties, userProperties: Object.fromEntries(c.properties.userProperties) };
  return p;
}

function run(c) {
  const ours = Array.from({ length: N }, (_, i) => ourPacket(c, i));
  const theirs = Array.from({ length: N }, (_, i) => theirPacket(c, i));
  const opts = { protocolVersion: c.version };
  let sink = 0;
  const encOurs = medianRate(() => {
    for (const p of ours) sink += encodePacket(p, c.version).length;
  }, N);
  const encTheirs = medianRate(() => {
    for (const p of theirs) sink += mqttPacket.generate(p, opts).length;
  }, N);
  const stream = chunks(Buffer.concat(ours.map((p) => encodePacket(p, c.version))), 64 * 1024);
  const decOurs = medianRate(() => {
    const d = new PacketDecoder(opts);
    let n = 0;
    for (const chunk of stream) n += d.push(chunk).length;
    if (n !== N) throw new Error(`ours decoded ${n} of ${N}`);
  }, N);
  const decTheirs = medianRate(() => {
    const parser = mqttPacket.parser(opts);
    let n = 0;
    parser.on('packet', () => n++);
    for (const chunk of stream) parser.parse(chunk);
    if (n !== N) throw new Error(`mqtt-packet decoded ${n} of ${N}`);
  }, N);
  if (sink === 0) throw new Error('unreachable');
  return {
    case: c.name,
    encode: { ours: Math.round(encOurs), mqttPacket: Math.round(encTheirs), ratio: +(encOurs / encTheirs).toFixed(2) },
    decode: { ours: Math.round(decOurs), mqttPacket: Math.round(decTheirs), ratio: +(decOurs / decTheirs).toFixed(2) },
  };
}

const results = cases.map(run);
const fmt = (n) => n.toLocaleString('en-US').padStart(11);
console.log('PUBLISH QoS 1, 64-byte payload, packets/s (median of 7 rounds of 50k)');
console.log('case                 | encode ours | encode m-p  | ratio | decode ours | decode m-p  | ratio');
for (const r of results) {
  console.log(
    `${r.case.padEnd(20)} |${fmt(r.encode.ours)} |${fmt(r.encode.mqttPacket)} | ${String(r.encode.ratio).padStart(5)} |${fmt(r.decode.ours)} |${fmt(r.decode.mqttPacket)} | ${String(r.decode.ratio).padStart(5)}`,
  );
}
const report = { benchmark: 'codec', target: 'ratio >= 2', environment: environment(), results };
writeFileSync(new URL('./results/codec.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log('written bench/results/codec.json');
