/**
 * Driver benchmark, ours vs MQTT.js (and mosquitto's C client for the drain), in one run against a private
 * mosquitto on loopback. Run: npm run bench:driver (add -- --quick for a short run).
 *  (a) drain of N QoS 1 messages queued for an offline persistent session (ours, MQTT.js, mosquitto_sub -c -q 1)
 *  (b) publish throughput at QoS 0/1/2, until every publish is confirmed (written / PUBACK / PUBCOMP)
 *  (c) request/response round trips with 100 concurrent callers (MQTT.js: responseTopic + correlationData by hand)
 * `--only=drain|publish|request` runs one part and prints it. Each figure is the median of several rounds; rounds
 * alternate between the contenders, so a load change on this shared machine hits both. Results with ratios and the
 * environment go to bench/results/driver.json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { connect } from '../dist/driver/index.js';
import { requireBinary } from '../test/support/binaries.mjs';
import { environment } from './lib/measure.mjs';
import { hasMosquitto, startMosquitto } from './lib/mosquitto.mjs';

const quick = process.argv.includes('--quick');
/** `--only=drain|publish|request` runs one part (nothing is written to results then). */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const part = (name) => !only || only === name;
const ROUNDS = quick ? 1 : 5;
const DRAIN = quick ? 10_000 : 50_000;
const PUBLISH = quick ? { 0: 5_000, 1: 2_000, 2: 1_000 } : { 0: 50_000, 1: 30_000, 2: 20_000 };
const RR_TOTAL = quick ? 2_000 : 20_000;
const CALLERS = 100;
const PAYLOAD = Buffer.alloc(64, 0x61);

const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs each contender's `fn(round)` ROUNDS times, alternating contenders; the median rate of each. */
async function rounds(contenders) {
  const rates = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, fn] of Object.entries(contenders)) {
      globalThis.gc?.();
      rates[name].push(await fn(i));
    }
  }
  return Object.fromEntries(Object.entries(rates).map(([name, xs]) => [name, median(xs)]));
}

function mqttJs(url, options = {}) {
  return mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...options });
}

const endJs = (c) => new Promise((resolve) => c.end(false, {}, () => resolve()));

// ---------- (a) drain of an offline persistent session's queue ----------

/** Creates the session for `clientId` subscribed to `topic`, then fills its queue with `n` QoS 1 messages. */
async function queueFor(url, clientId, topic, n) {
  const session = await connect(url, { clientId, cleanStart: false, sessionExpiryInterval: 3600 });
  await session.subscribe(topic, { qos: 1 });
  await session.disconnect();
  const filler = await connect(url);
  const batch = 2_000;
  for (let i = 0; i < n; i += batch) {
    const ps = [];
    for (let j = i; j < Math.min(n, i + batch); j++) ps.push(filler.publish(topic, PAYLOAD, { qos: 1 }));
    await Promise.all(ps);
  }
  await filler.disconnect();
}

async function drainOurs(url, clientId, topic, n) {
  const t0 = now();
  const c = await connect(url, { clientId, cleanStart: false, sessionExpiryInterval: 3600 });
  const sub = await c.subscribe(topic, { qos: 1, bufferSize: 10_000 });
  let got = 0;
  for await (const _m of sub) if (++got === n) break;
  const ms = now() - t0;
  await c.disconnect({ sessionExpiryInterval: 0 });
  return (n * 1000) / ms;
}

async function drainMqttJs(url, clientId, _topic, n) {
  const t0 = now();
  const c = mqtt.connect(url, {
    protocolVersion: 5,
    clientId,
    clean: false,
    reconnectPeriod: 0,
    properties: { sessionExpiryInterval: 3600 },
  });
  await new Promise((resolve, reject) => {
    let got = 0;
    c.on('message', () => {
      if (++got === n) resolve();
    });
    c.once('error', reject);
  });
  const ms = now() - t0;
  await endJs(c);
  return (n * 1000) / ms;
}

function drainMosquittoSub(url, clientId, topic, n) {
  const port = new URL(url).port;
  const args = ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv5', '-x', '3600', '-c', '-q', '1'];
  args.push('-i', clientId, '-t', topic, '-C', String(n), '-W', '120');
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(requireBinary('mosquitto_sub'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = now() - t0;
      if (code !== 0) reject(new Error(`mosquitto_sub exited with ${code}`));
      else resolve((n * 1000) / ms);
    });
  });
}

async function benchDrain(url) {
  const contenders = { ours: drainOurs, mqttjs: drainMqttJs, mosquitto_sub: drainMosquittoSub };
  const round = (name, fn) => async (i) => {
    const clientId = `drain-${name}-${i}`;
    const topic = `bench/drain/${name}/${i}`;
    await queueFor(url, clientId, topic, DRAIN);
    return fn(url, clientId, topic, DRAIN);
  };
  return rounds(Object.fromEntries(Object.entries(contenders).map(([name, fn]) => [name, round(name, fn)])));
}

// ---------- (b) publish throughput ----------

async function publishOurs(url, qos, n) {
  const c = await connect(url);
  const t0 = now();
  const ps = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = c.publish('bench/pub', PAYLOAD, { qos });
  await Promise.all(ps);
  const ms = now() - t0;
  await c.disconnect();
  return (n * 1000) / ms;
}

/**
 * MQTT.js does not honour the broker's Receive Maximum (a QoS 2 burst fails with 0x97), so QoS 1/2 keep at most
 * that many publishes in flight by hand — what a user of MQTT.js must do to get them all accepted.
 */
async function publishMqttJs(url, qos, n) {
  const c = await mqttJs(url);
  const window = qos === 0 ? n : getServerReceiveMaximum(c);
  const t0 = now();
  await new Promise((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const next = () => {
      while (sent < n && sent - done < window) {
        sent++;
        c.publish('bench/pub', PAYLOAD, { qos }, (err) => {
          if (err) return reject(err);
          if (++done === n) resolve();
          else next();
        });
      }
    };
    next();
  });
  const ms = now() - t0;
  await endJs(c);
  return (n * 1000) / ms;
}

function getServerReceiveMaximum(c) {
  return c.connackPacket?.properties?.receiveMaximum ?? 65535;
}

async function benchPublish(url) {
  const out = {};
  for (const qos of [0, 1, 2]) {
    const n = PUBLISH[qos];
    out[`qos${qos}`] = {
      messages: n,
      ...(await rounds({ ours: () => publishOurs(url, qos, n), mqttjs: () => publishMqttJs(url, qos, n) })),
    };
  }
  return out;
}

// ---------- (c) request/response, 100 concurrent callers ----------

async function callers(total, call) {
  let issued = 0;
  const worker = async () => {
    while (issued < total) {
      issued++;
      await call();
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: CALLERS }, worker));
  return (total * 1000) / (now() - t0);
}

async function rrOurs(url, total) {
  const server = await connect(url);
  const client = await connect(url);
  const sub = await server.subscribe('bench/rr/ours');
  const serving = (async () => {
    for await (const m of sub) {
      server
        .publish(m.properties.responseTopic, m.payload, {
          properties: { correlationData: m.properties.correlationData },
        })
        .catch(() => undefined);
    }
  })();
  await client.request('bench/rr/ours', PAYLOAD, { timeout: 10_000 }); // makes the response subscription
  const rate = await callers(total, () => client.request('bench/rr/ours', PAYLOAD, { timeout: 30_000 }));
  await sub.unsubscribe();
  await serving;
  await client.disconnect();
  await server.disconnect();
  return rate;
}

async function rrMqttJs(url, total) {
  const server = await mqttJs(url);
  const client = await mqttJs(url);
  await server.subscribeAsync('bench/rr/js', { qos: 0 });
  server.on('message', (_t, payload, packet) => {
    const { responseTopic, correlationData } = packet.properties ?? {};
    if (responseTopic) server.publish(responseTopic, payload, { qos: 0, properties: { correlationData } });
  });
  const responseTopic = `bench/rr/js/replies/${randomBytes(6).toString('hex')}`;
  const pending = new Map();
  await client.subscribeAsync(responseTopic, { qos: 0 });
  client.on('message', (_t, payload, packet) => {
    const key = packet.properties?.correlationData?.toString('hex');
    const resolve = key && pending.get(key);
    if (resolve) {
      pending.delete(key);
      resolve(payload);
    }
  });
  const request = () =>
    new Promise((resolve, reject) => {
      const correlationData = randomBytes(16);
      pending.set(correlationData.toString('hex'), resolve);
      client.publish('bench/rr/js', PAYLOAD, { qos: 0, properties: { responseTopic, correlationData } }, (err) => {
        if (err) reject(err);
      });
    });
  const rate = await callers(total, request);
  await endJs(client);
  await endJs(server);
  return rate;
}

async function benchRequest(url) {
  return {
    roundTrips: RR_TOTAL,
    callers: CALLERS,
    ...(await rounds({ ours: () => rrOurs(url, RR_TOTAL), mqttjs: () => rrMqttJs(url, RR_TOTAL) })),
  };
}

// ---------- main ----------

const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
const ratio = (a, b) => Math.round((a / b) * 100) / 100;

async function main() {
  if (!hasMosquitto) {
    console.error('bench:driver needs mosquitto and mosquitto_sub (apt-get install mosquitto mosquitto-clients)');
    process.exit(1);
  }
  const broker = await startMosquitto();
  try {
    console.log(`driver bench${quick ? ' (quick)' : ''}: mosquitto on ${broker.url}, ${ROUNDS} round(s), median`);
    const drain = part('drain') ? await benchDrain(broker.url) : undefined;
    const publish = part('publish') ? await benchPublish(broker.url) : undefined;
    const request = part('request') ? await benchRequest(broker.url) : undefined;
    if (only) {
      console.log(JSON.stringify({ drain, publish, request }, null, 2));
      return;
    }

    const rows = [
      ['(a) drain QoS 1', DRAIN, drain.ours, drain.mqttjs, drain.mosquitto_sub],
      ...[0, 1, 2].map((q) => [`(b) publish QoS ${q}`, PUBLISH[q], publish[`qos${q}`].ours, publish[`qos${q}`].mqttjs]),
      [`(c) request/response x${CALLERS}`, RR_TOTAL, request.ours, request.mqttjs],
    ];
    console.log(
      `\n${'case'.padEnd(28)}${'messages'.padStart(10)}${'ours/s'.padStart(10)}${'MQTT.js/s'.padStart(10)}${'ours/js'.padStart(9)}${'mosq_sub/s'.padStart(11)}${'ours/C'.padStart(8)}`,
    );
    for (const [name, n, ours, js, c] of rows) {
      const cCols = c === undefined ? '' : `${fmt(c).padStart(11)}${String(ratio(ours, c)).padStart(8)}`;
      console.log(
        `${name.padEnd(28)}${String(n).padStart(10)}${fmt(ours)}${fmt(js)}${String(ratio(ours, js)).padStart(9)}${cCols}`,
      );
    }

    const results = {
      benchmark: 'driver: ours vs MQTT.js (and mosquitto_sub for the drain) against mosquitto on loopback',
      unit: 'messages (or round trips) per second, median of rounds',
      quick,
      rounds: ROUNDS,
      payloadBytes: PAYLOAD.length,
      drain: {
        messages: DRAIN,
        ...drain,
        ratioVsMosquittoSub: ratio(drain.ours, drain.mosquitto_sub),
        ratioVsMqttJs: ratio(drain.ours, drain.mqttjs),
        target: 'ours >= 0.9x mosquitto_sub',
      },
      publish: Object.fromEntries(
        Object.entries(publish).map(([k, v]) => [k, { ...v, ratioVsMqttJs: ratio(v.ours, v.mqttjs) }]),
      ),
      request: { ...request, ratioVsMqttJs: ratio(request.ours, request.mqttjs) },
      targets: { publishAndRequest: 'ours >= 1.5x MQTT.js' },
      env: { ...environment(), mosquitto: '2.0.x (/usr/sbin/mosquitto)', mqttjs: mqtt.MQTTJS_VERSION ?? 'mqtt 5.x' },
    };
    if (!quick) {
      mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
      writeFileSync(new URL('./results/driver.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
      console.log('\nwritten bench/results/driver.json');
    }
  } finally {
    await broker.stop();
  }
}

await main();
