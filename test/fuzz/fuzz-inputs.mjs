/**
 * Fuzz inputs for the MQTT decoder and client: valid packets of every type (random fields, both protocol
 * levels), mutated copies of them and plain random bytes, from a seeded PRNG so a run can be replayed.
 * Plain JS on purpose: used by bench/fuzz.mjs (on dist/) and by the jest slice (on lib/).
 */

/** mulberry32: small, fast, seeded. Returns a function giving floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeRandom(seed) {
  const next = prng(seed);
  const r = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    bool: () => next() < 0.5,
    pick: (list) => list[Math.floor(next() * list.length)],
    bytes: (max) => {
      const n = r.int(0, max);
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = r.int(0, 255);
      return b;
    },
    text: (max) => {
      const alphabet = ['a', 'b', 'z', '0', '/', 'é', '€', '𝄞', ' ', '-', '$'];
      let s = '';
      for (let i = r.int(0, max); i > 0; i--) s += r.pick(alphabet);
      return s;
    },
    maybe: (value) => (next() < 0.5 ? value : undefined),
  };
  return r;
}

const topic = (r) => (r.text(12).replace(/[+#]/g, '') || 'a').replace(/^\$/, 'x');
const filter = (r) => r.pick(['a/#', '+/b', '#', 'a/+/c', topic(r)]);
const userProperties = (r) => (r.bool() ? undefined : [[r.text(4), r.text(4)]]);

function clean(o) {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return Object.keys(o).length === 0 ? undefined : o;
}

function ackProps(r, v) {
  return v === 5 && r.bool()
    ? clean({ reasonString: r.maybe(r.text(8)), userProperties: userProperties(r) })
    : undefined;
}

/** Packet kinds (cases of `validPacket`) a server may send to a client, publishes weighted up. */
const FROM_SERVER = [0, 1, 2, 0, 1, 2, 4, 5, 6, 7, 10, 3, 8, 9, 11];

/**
 * One valid packet at protocol level `v`: of any type, or (`fromServer`) mostly what a server sends after
 * CONNACK, so a client connection survives long enough to reach deeper states.
 */
export function validPacket(r, v, fromServer = false) {
  const id = r.int(1, 65535);
  const rc = (codes) => (v === 5 ? { reasonCode: r.pick(codes) } : {});
  switch (fromServer ? (r.next() < 0.85 ? r.pick(FROM_SERVER.slice(0, 11)) : r.pick(FROM_SERVER)) : r.int(0, 13)) {
    case 0:
    case 1:
    case 2: {
      const qos = r.int(0, 2);
      return {
        type: 'publish',
        topic: topic(r),
        qos,
        retain: r.bool(),
        dup: qos > 0 && r.bool(),
        payload: r.bytes(48),
        ...(qos > 0 ? { packetId: id } : {}),
        properties:
          v === 5
            ? clean({
                payloadFormatIndicator: r.maybe(0),
                messageExpiryInterval: r.maybe(r.int(0, 1000)),
                contentType: r.maybe(r.text(6)),
                responseTopic: r.maybe(topic(r)),
                correlationData: r.maybe(r.bytes(16)),
                subscriptionIdentifier: r.next() < 0.2 ? [r.int(1, 4)] : undefined,
                topicAlias: r.next() < 0.2 ? r.int(1, 6) : undefined,
                userProperties: userProperties(r),
              })
            : undefined,
      };
    }
    case 3:
      return {
        type: 'connack',
        sessionPresent: false,
        reasonCode: v === 5 ? r.pick([0, 0x80, 0x87, 0x97]) : r.int(0, 5),
        properties:
          v === 5
            ? clean({
                receiveMaximum: r.maybe(r.int(1, 100)),
                maximumPacketSize: r.maybe(r.int(100, 100000)),
                topicAliasMaximum: r.maybe(r.int(0, 10)),
                serverKeepAlive: r.maybe(r.int(0, 60)),
                assignedClientIdentifier: r.maybe(r.text(8)),
              })
            : undefined,
      };
    case 4:
      return { type: 'puback', packetId: id, ...rc([0, 0x10, 0x80, 0x97]), properties: ackProps(r, v) };
    case 5:
      return { type: 'pubrec', packetId: id, ...rc([0, 0x10, 0x80]), properties: ackProps(r, v) };
    case 6:
      return { type: 'pubrel', packetId: id, ...rc([0, 0x92]), properties: ackProps(r, v) };
    case 7:
      return { type: 'pubcomp', packetId: id, ...rc([0, 0x92]), properties: ackProps(r, v) };
    case 8:
      return { type: 'suback', packetId: id, reasonCodes: [r.pick([0, 1, 2, 0x80])], properties: ackProps(r, v) };
    case 9:
      return { type: 'unsuback', packetId: id, reasonCodes: v === 5 ? [0] : [], properties: ackProps(r, v) };
    case 10:
      return fromServer || r.bool() ? { type: 'pingresp' } : { type: 'pingreq' };
    case 11:
      return { type: 'disconnect', ...rc([0, 0x80, 0x8b, 0x98]), properties: ackProps(r, v) };
    case 12:
      return { type: 'subscribe', packetId: id, subscriptions: [{ topicFilter: filter(r), qos: r.int(0, 2) }] };
    default:
      return v === 5 && r.bool()
        ? { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'x' } }
        : { type: 'unsubscribe', packetId: id, topicFilters: [filter(r)] };
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x3f, 0x40, 0xc0, 0x26, 0x0b, 0x23];

/** A mutated copy of `b`: flips, interesting bytes, inserts, deletes, truncation, duplication. */
export function mutate(r, b) {
  const out = [...b];
  for (let n = r.int(1, 4); n > 0; n--) {
    const at = r.int(0, Math.max(0, out.length - 1));
    switch (r.int(0, 6)) {
      case 0:
        if (out.length) out[at] ^= 1 << r.int(0, 7);
        break;
      case 1:
        if (out.length) out[at] = r.pick(INTERESTING);
        break;
      case 2:
        out.splice(at, 0, r.int(0, 255));
        break;
      case 3:
        out.splice(at, r.int(1, 4));
        break;
      case 4:
        out.length = r.int(0, out.length);
        break;
      case 5:
        out.splice(at, 0, ...out.slice(at, at + r.int(1, 8)));
        break;
      default:
        if (out.length > 1) out[r.int(1, Math.min(4, out.length - 1))] = r.pick(INTERESTING); // length bytes
    }
  }
  return Buffer.from(out);
}

/**
 * The next fuzz input: a stream of 1–3 packets, each valid (with probability `validRatio`), mutated or random.
 * Returns `{ bytes, mutated }` where `mutated` is false only when every packet is valid.
 */
export function nextInput(r, v, encodePacket, validRatio = 0.35, fromServer = false) {
  const parts = [];
  let mutated = false;
  for (let n = r.int(1, 3); n > 0; n--) {
    const roll = r.next();
    if (roll < 0.08) {
      parts.push(r.bytes(24));
      mutated = true;
      continue;
    }
    const valid = encodePacket(validPacket(r, v, fromServer), v);
    if (roll < 0.05 + validRatio) parts.push(valid);
    else {
      parts.push(mutate(r, valid));
      mutated = true;
    }
  }
  return { bytes: Buffer.concat(parts), mutated };
}

/** Splits `bytes` into 1..n random chunks (copies, so the decoder's zero-copy views stay valid). */
export function chunk(r, bytes) {
  if (bytes.length < 2 || r.bool()) return [bytes];
  const out = [];
  let pos = 0;
  while (pos < bytes.length) {
    const n = r.int(1, Math.max(1, bytes.length - pos));
    out.push(Buffer.from(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  return out;
}
