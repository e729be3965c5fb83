/**
 * Fuzz runners, shared by `npm run fuzz` (bench/fuzz.mjs, on dist/) and the jest slice (on lib/). Each takes
 * the driver module (`connect`, `PacketDecoder`, `encodePacket`, `MqttError`) so both builds can be driven.
 * A finding is anything but a typed `MqttError`: another exception, a valid input refused, a client that
 * sends bytes our decoder rejects, a hang, a publish that never settles.
 */
import { EventEmitter } from 'node:events';
import { chunk, makeRandom, nextInput } from './fuzz-inputs.mjs';

const hex = (b) => Buffer.from(b).subarray(0, 64).toString('hex');

function finding(report, kind, detail) {
  report.findings++;
  if (report.examples.length < 10) report.examples.push({ kind, ...detail });
}

/** Drives `inputs` inputs through PacketDecoder at levels 5 and 4, in random chunks. */
export function fuzzDecoder(driver, { inputs, seed = 1 }) {
  const { PacketDecoder, encodePacket, MqttError } = driver;
  const r = makeRandom(seed);
  const report = { inputs: 0, packets: 0, rejected: 0, byReasonCode: {}, findings: 0, examples: [] };
  const decoders = { 4: new PacketDecoder({ protocolVersion: 4 }), 5: new PacketDecoder({ protocolVersion: 5 }) };
  for (let i = 0; i < inputs; i++) {
    const v = i % 2 === 0 ? 5 : 4;
    const decoder = decoders[v];
    decoder.reset(v);
    const { bytes, mutated } = nextInput(r, v, encodePacket);
    report.inputs++;
    try {
      for (const part of chunk(r, bytes)) {
        for (const p of decoder.push(part)) {
          report.packets++;
          reencode(driver, p, decoder.protocolVersion, report, bytes);
        }
      }
    } catch (err) {
      if (!(err instanceof MqttError)) {
        finding(report, 'untyped error', { input: hex(bytes), error: String(err?.stack ?? err) });
        continue;
      }
      report.rejected++;
      const code = `0x${(err.reasonCode ?? 0).toString(16)}`;
      report.byReasonCode[code] = (report.byReasonCode[code] ?? 0) + 1;
      if (!mutated) finding(report, 'valid input refused', { input: hex(bytes), error: err.message });
    }
  }
  return report;
}

/** A decoded packet must encode again (the decoder accepted it, so it is valid). */
function reencode(driver, p, v, report, bytes) {
  try {
    driver.encodePacket(p, v);
  } catch (err) {
    finding(report, 're-encode failed', { input: hex(bytes), type: p.type, error: String(err?.message ?? err) });
  }
}

/**
 * An in-memory broker link: answers CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and the client's QoS 1/2
 * publishes like a broker would, and checks that every byte the client writes decodes.
 */
class FakeLink extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  constructor(driver, v, onClientBytes) {
    super();
    this.driver = driver;
    this.v = v;
    this.decoder = new driver.PacketDecoder({ protocolVersion: v });
    this.onClientBytes = onClientBytes;
  }
  write(bytes, callback) {
    if (this.destroyed) {
      process.nextTick(() => callback?.(new Error('link closed')));
      return false;
    }
    let packets = [];
    try {
      packets = this.decoder.push(Buffer.from(bytes));
    } catch (err) {
      this.onClientBytes(err, bytes);
    }
    for (const p of packets) this.answer(p);
    if (callback) process.nextTick(callback);
    return true;
  }
  answer(p) {
    const rc = this.v === 5 ? { reasonCode: 0 } : {};
    let reply;
    if (p.type === 'connect')
      reply = {
        type: 'connack',
        sessionPresent: false,
        reasonCode: 0,
        properties: this.v === 5 ? { topicAliasMaximum: 5 } : undefined,
      };
    else if (p.type === 'subscribe')
      reply = { type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((s) => s.qos) };
    else if (p.type === 'unsubscribe')
      reply = { type: 'unsuback', packetId: p.packetId, reasonCodes: this.v === 5 ? p.topicFilters.map(() => 0) : [] };
    else if (p.type === 'pingreq') reply = { type: 'pingresp' };
    else if (p.type === 'publish' && p.qos === 1) reply = { type: 'puback', packetId: p.packetId, ...rc };
    else if (p.type === 'publish' && p.qos === 2) reply = { type: 'pubrec', packetId: p.packetId, ...rc };
    else if (p.type === 'pubrel') reply = { type: 'pubcomp', packetId: p.packetId, ...rc };
    if (reply) {
      const bytes = this.driver.encodePacket(reply, this.v);
      process.nextTick(() => this.deliver(bytes));
    }
  }
  deliver(bytes) {
    if (!this.destroyed) this.emit('data', bytes);
  }
  end() {
    this.destroy();
  }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    process.nextTick(() => this.emit('close'));
  }
}

/** True when `promise` settled within `ms` (the guard timer is cleared either way). */
async function within(promise, ms) {
  let timer;
  const guard = new Promise((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([promise.then(() => true), guard]);
  } finally {
    clearTimeout(timer);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Resolves true once the client is connected on a live link, false when it closed or `guardMs` passed. A link
 * the client just destroyed reports 'close' a tick later: until then the status still says connected.
 */
function waitConnected(client, guardMs, linkAlive) {
  if (client.status === 'connected' && linkAlive()) return true;
  return new Promise((resolve) => {
    const done = (value) => {
      clearTimeout(timer);
      client.off('status', onStatus);
      resolve(value);
    };
    const onStatus = (s) => {
      if (s === 'connected' && linkAlive()) done(true);
      else if (s === 'closed') done(false);
    };
    const timer = setTimeout(() => done(false), guardMs);
    client.on('status', onStatus);
  });
}

/** Reads a subscription forever, acking or nacking at random (manual mode) until it ends. */
async function consume(sub, r, manual, counts) {
  for await (const m of sub) {
    counts.delivered++;
    if (manual) await (r.bool() ? m.ack() : m.nack(0x80));
  }
}

async function fuzzOneClient(driver, { inputs, seed, v }, report) {
  const { connect, MqttError, encodePacket } = driver;
  const r = makeRandom(seed);
  let link;
  const client = await connect('mqtt://fuzz.invalid', {
    protocolVersion: v,
    keepalive: 0,
    receiveMaximum: 200,
    receiveMaximumTolerance: 0,
    topicAliasMaximum: 5,
    unroutedBufferSize: 50,
    reconnect: { initialDelay: 0, maxDelay: 0, jitter: 0 },
    transport: async () => {
      link = new FakeLink(driver, v, (err, bytes) =>
        finding(report, 'client sent bytes our decoder rejects', { output: hex(bytes), error: String(err?.message) }),
      );
      return link;
    },
  });
  client.on('error', (err) => {
    report.clientErrors++;
    if (!(err instanceof MqttError)) finding(report, 'untyped client error', { error: String(err?.stack ?? err) });
  });
  const counts = report.counts;
  const subs = [
    await client.subscribe('#', { qos: 2 }),
    await client.subscribe(['a/+', 'b/#'], { qos: 1, ack: 'manual' }),
    await client.subscribe('z/#', { qos: 1, bufferSize: 5 }), // never read
  ];
  const readers = [consume(subs[0], r, false, counts), consume(subs[1], r, true, counts)];
  const publishes = [];
  for (let i = 0; i < inputs; i++) {
    if (!(await waitConnected(client, 5000, () => !link.destroyed))) {
      finding(report, 'client did not reconnect', { status: client.status });
      break;
    }
    if (i % 50 === 0) {
      const qos = r.int(0, 2);
      publishes.push(
        client.publish(`p/${i}`, 'x', { qos }).then(
          () => counts.published++,
          (err) => {
            if (!(err instanceof MqttError)) finding(report, 'untyped publish rejection', { error: String(err) });
            else if (qos > 0) counts.publishRejected++;
          },
        ),
      );
    }
    const { bytes } = nextInput(r, v, encodePacket, 0.7, true);
    report.inputs++;
    const current = link;
    for (const part of chunk(r, bytes)) current.deliver(part);
    if (current.destroyed) counts.reconnects++;
    else if (i % 20 === 0) await tick();
  }
  // Every publish settles. A hostile stream may swallow an ack (a truncated packet eats the bytes after it) and
  // MQTT never retransmits on a live link, so some may wait for their ack until the client closes; close must
  // then reject them.
  let open = publishes.length;
  for (const p of publishes) p.then(() => open--);
  await new Promise((res) => setTimeout(res, 200));
  counts.pendingAtClose += open;
  await client.disconnect();
  if (!(await within(Promise.all(publishes), 5000))) finding(report, 'publish never settled', { open });
  await Promise.all(readers);
}

/** Drives `inputs` inputs through `clients` concurrent clients (half v5, half v4) over in-memory fake brokers. */
export async function fuzzClient(driver, { inputs, seed = 1, clients = 64 }) {
  const report = {
    inputs: 0,
    clientErrors: 0,
    findings: 0,
    examples: [],
    counts: { delivered: 0, published: 0, publishRejected: 0, pendingAtClose: 0, reconnects: 0 },
  };
  const onUncaught = (err) => finding(report, 'uncaught exception', { error: String(err?.stack ?? err) });
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  try {
    const share = Math.ceil(inputs / clients);
    await Promise.all(
      Array.from({ length: clients }, (_, k) =>
        fuzzOneClient(
          driver,
          { inputs: Math.min(share, inputs - k * share), seed: seed * 1000 + k, v: k % 2 ? 4 : 5 },
          report,
        ),
      ),
    );
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  return report;
}
