/**
 * Codec benchmark: PUBLISH (QoS 1, 64-byte payload) encode and decode, ours vs mqtt-packet, in packets/s.
 * Decode feeds one large buffer of many packets in 64 KiB chunks to both. Ours and mqtt-packet alternate within
 * every round (the order rotating each round), 7 rounds after warm-up; min/median/max per contender, the machine's
 * load in the results file. Run: npm run bench:codec (-- --quick: nothing written).
 */
import mqttPacket from 'mqtt-packet';
import { encodePacket, PacketDecoder } from '../dist/driver/codec/index.js';
import { load, markdownTable, orderFor, parseArgs, ratio, stats, writeResult } from './lib/runner.mjs';

const { quick } = parseArgs();
const ROUNDS = quick ? 1 : 7;
const WARMUP = quick ? 1 : 3;

/**
 * Packets/s of one timed call of `fn` (which handles `ops` packets).
 * @param {() => void} fn
 * @param {number} ops
 */
function rate(fn, ops) {
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  fn();
  return (ops * 1e9) / Number(process.hrtime.bigint() - t0);
}

/**
 * Warm-up, then ROUNDS rounds in which every contender runs once, the order rotating; stats per contender.
 * @template {string} K
 * @param {Record<K, () => void>} contenders
 * @param {number} ops
 * @returns {Record<K, import('./lib/runner.mjs').Stats>}
 */
function alternateSync(contenders, ops) {
  const names = /** @type {K[]} */ (Object.keys(contenders));
  for (let i = 0; i < WARMUP; i++) for (const n of names) contenders[n]();
  /** @type {Record<string, number[]>} */
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < ROUNDS; i++) for (const n of orderFor(names, i)) rates[n].push(rate(contenders[n], ops));
  return /** @type {Record<K, import('./lib/runner.mjs').Stats>} */ (
    Object.fromEntries(names.map((n) => [n, stats(rates[n].map(Math.round))]))
  );
}

/**
 * Splits `buf` into views of `size` bytes, like socket reads.
 * @param {Buffer} buf
 * @param {number} size
 */
function chunks(buf, size) {
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const N = 50_000;
const payload = Buffer.alloc(64, 0x61);
/** @type {{ contentType: string, responseTopic: string, correlationData: Buffer, userProperties: [string, string][], messageExpiryInterval: number }} */
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

/** @typedef {{ name: string, version: 4 | 5, properties: typeof props | undefined }} Case */
/** @type {Case[]} */
const cases = [
  { name: 'v4 no properties', version: 4, properties: undefined },
  { name: 'v5 no properties', version: 5, properties: undefined },
  { name: 'v5 with properties', version: 5, properties: props },
];

/**
 * @param {Case} c
 * @param {number} i
 * @returns {import('../dist/driver/codec/index.js').PublishPacket}
 */
function ourPacket(c, i) {
  /** @type {import('../dist/driver/codec/index.js').PublishPacket} */
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

/**
 * @param {Case} c
 * @param {number} i
 * @returns {import('mqtt-packet').IPublishPacket}
 */
function theirPacket(c, i) {
  /** @type {import('mqtt-packet').IPublishPacket} */
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

/** @param {Case} c */
function run(c) {
  const ours = Array.from({ length: N }, (_, i) => ourPacket(c, i));
  const theirs = Array.from({ length: N }, (_, i) => theirPacket(c, i));
  const opts = { protocolVersion: c.version };
  let sink = 0;
  const encode = alternateSync(
    {
      ours: () => {
        for (const p of ours) sink += encodePacket(p, c.version).length;
      },
      mqttPacket: () => {
        for (const p of theirs) sink += mqttPacket.generate(p, opts).length;
      },
    },
    N,
  );
  const stream = chunks(Buffer.concat(ours.map((p) => encodePacket(p, c.version))), 64 * 1024);
  const decode = alternateSync(
    {
      ours: () => {
        const d = new PacketDecoder(opts);
        let n = 0;
        for (const chunk of stream) n += d.push(chunk).length;
        if (n !== N) throw new Error(`ours decoded ${n} of ${N}`);
      },
      mqttPacket: () => {
        const parser = mqttPacket.parser(opts);
        let n = 0;
        parser.on('packet', () => n++);
        for (const chunk of stream) parser.parse(chunk);
        if (n !== N) throw new Error(`mqtt-packet decoded ${n} of ${N}`);
      },
    },
    N,
  );
  if (sink === 0) throw new Error('unreachable');
  return {
    case: c.name,
    encode: { ...encode, ratio: ratio(encode.ours.median, encode.mqttPacket.median) },
    decode: { ...decode, ratio: ratio(decode.ours.median, decode.mqttPacket.median) },
  };
}

const loadBefore = load();
const results = cases.map(run);
/** @param {import('./lib/runner.mjs').Stats} s */
const fmt = (s) =>
  `${s.median.toLocaleString('en-US')} (${s.min.toLocaleString('en-US')}–${s.max.toLocaleString('en-US')})`;
const printed = markdownTable(
  [
    'PUBLISH QoS 1, 64-byte payload, packets/s',
    'encode ours',
    'encode mqtt-packet',
    'ratio',
    'decode ours',
    'decode mqtt-packet',
    'ratio',
  ],
  results.map((r) => [
    r.case,
    fmt(r.encode.ours),
    fmt(r.encode.mqttPacket),
    `${r.encode.ratio}×`,
    fmt(r.decode.ours),
    fmt(r.decode.mqttPacket),
    `${r.decode.ratio}×`,
  ]),
);
console.log(printed);
if (!quick) {
  writeResult(
    'codec',
    {
      benchmark: 'codec',
      rounds: ROUNDS,
      unit: `packets/s, { min, median, max } over ${ROUNDS} rounds of ${N} after ${WARMUP} warm-up rounds; ratios of medians`,
      target: 'ratio >= 2',
      table: printed,
      results,
    },
    loadBefore,
  );
}
