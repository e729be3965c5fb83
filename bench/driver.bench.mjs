/**
 * Driver benchmark, ours vs MQTT.js (and mosquitto's C client for the drain), in one run against a private
 * mosquitto on loopback. Run: npm run bench:driver (add -- --quick for a short run).
 *  (a) drain of N QoS 1 messages queued for an offline persistent session (ours, MQTT.js, mosquitto_sub -c -q 1),
 *      timed to the last message received, with the client's and the broker's CPU per message
 *  (b) publish throughput at QoS 0/1/2, until every publish is confirmed (written / PUBACK / PUBCOMP)
 *  (c) request/response round trips with 100 concurrent callers (MQTT.js: responseTopic + correlationData by hand)
 * `--only=drain|publish|request` runs one part and prints it. Each figure is the median of several rounds; rounds
 * alternate between the contenders, so a load change on this shared machine hits both. Results with ratios and the
 * environment go to bench/results/driver.json.
 */
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { connect } from '../dist/driver/index.js';
import { requireBinary } from '../test/support/binaries.mjs';
import { hasMosquitto, startMosquitto } from './lib/mosquitto.mjs';
import {
  alternate,
  correlationPool,
  load,
  markdownTable,
  parseArgs,
  perS,
  processCpuUs,
  ratio,
  spread,
  writeResult,
} from './lib/runner.mjs';

/** `--only=drain|publish|request` runs some parts (nothing is written to results then); `--rounds=N` (≥ 5). */
const { quick, only, part, rounds: ROUNDS } = parseArgs();
const DRAIN = quick ? 10_000 : 50_000;
const PUBLISH = quick ? { 0: 5_000, 1: 2_000, 2: 1_000 } : { 0: 50_000, 1: 30_000, 2: 20_000 };
const RR_TOTAL = quick ? 2_000 : 20_000;
const CALLERS = 100;
const PAYLOAD = Buffer.alloc(64, 0x61);

const now = () => performance.now();

/**
 * Runs each contender's `fn(round)` (a rate) ROUNDS times, the contenders' order rotating every round;
 * `{ contender: { min, median, max, rounds } }` of the rates.
 */
async function rounds(contenders) {
  const names = Object.keys(contenders);
  const out = await alternate(names, ROUNDS, async (name, i) => ({ rate: await contenders[name](i) }), {
    onRound: (name, i, r) => console.error(`  round ${i + 1} ${name} ${Math.round(r.rate)}/s`),
  });
  return Object.fromEntries(names.map((n) => [n, { ...out[n].rate, rounds: out[n].rounds.map((r) => r.rate) }]));
}

function mqttJs(url, options = {}) {
  return mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...options });
}

const endJs = (c) => new Promise((resolve) => c.end(false, {}, () => resolve(undefined)));

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

/**
 * Each drain calls `done()` when the n-th message is in the application's hands: the clock (and the CPU counters)
 * stop there for every contender. What follows — leaving the loop, unsubscribing, disconnecting — is not timed:
 * this bench once stopped our clock after the `for await` loop, whose exit unsubscribes, and mosquitto answers
 * that UNSUBSCRIBE only after its own clean-up of the drained messages (~240 ms of broker CPU after 30,000, which
 * it spends idle a moment later otherwise); MQTT.js and mosquitto_sub were timed to their last message.
 */
async function drainOurs(url, clientId, topic, n, done) {
  const c = await connect(url, { clientId, cleanStart: false, sessionExpiryInterval: 3600 });
  const sub = await c.subscribe(topic, { qos: 1 }); // default bufferSize (1,000)
  let got = 0;
  for await (const _m of sub) {
    if (++got === n) {
      done();
      break;
    }
  }
  await c.disconnect({ sessionExpiryInterval: 0 });
}

async function drainMqttJs(url, clientId, _topic, n, done) {
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
      if (++got === n) {
        done();
        resolve(undefined);
      }
    });
    c.once('error', reject);
  });
  await endJs(c);
}

/**
 * mosquitto_sub acknowledges each message as it reads it and prints it (one line each: the payload has no newline);
 * timed to the n-th line on its stdout, like the others to their last message (its exit comes after a DISCONNECT).
 */
function drainMosquittoSub(url, clientId, topic, n, done) {
  const port = new URL(url).port;
  const args = ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv5', '-x', '3600', '-c', '-q', '1'];
  args.push('-i', clientId, '-t', topic, '-C', String(n), '-W', '120');
  return new Promise((resolve, reject) => {
    const child = spawn(requireBinary('mosquitto_sub'), args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    child.stdout.on('data', (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) if (++lines === n) done();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0 || lines < n) reject(new Error(`mosquitto_sub exited with ${code} after ${lines} of ${n}`));
      else resolve(undefined);
    });
  });
}

/**
 * The drain rate from connect to the last message received, and the CPU per message over the same window of this
 * process (ours, MQTT.js; mosquitto_sub is another process) and of the broker (/proc, Linux).
 */
async function benchDrain(broker) {
  const url = broker.url;
  const contenders = { ours: drainOurs, mqttjs: drainMqttJs, mosquitto_sub: drainMosquittoSub };
  const names = Object.keys(contenders);
  return alternate(
    names,
    ROUNDS,
    async (name, i) => {
      const clientId = `drain-${name}-${i}`;
      const topic = `bench/drain/${name}/${i}`;
      await queueFor(url, clientId, topic, DRAIN);
      const brokerCpu0 = processCpuUs(broker.pid);
      const cpu0 = process.cpuUsage();
      const t0 = now();
      /** @type {{ rate: number, clientCpuUs?: number, brokerCpuUs?: number }} */
      let result = { rate: 0 };
      await contenders[name](url, clientId, topic, DRAIN, () => {
        const ms = now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const brokerCpu1 = processCpuUs(broker.pid);
        result = { rate: (DRAIN * 1000) / ms };
        if (name !== 'mosquitto_sub') result.clientCpuUs = (cpu.user + cpu.system) / DRAIN;
        if (brokerCpu0 !== undefined && brokerCpu1 !== undefined)
          result.brokerCpuUs = (brokerCpu1 - brokerCpu0) / DRAIN;
      });
      return result;
    },
    {
      onRound: (name, i, r) =>
        console.error(
          `  round ${i + 1} ${name} ${Math.round(r.rate)}/s` +
            (r.clientCpuUs !== undefined ? `, client ${r.clientCpuUs.toFixed(1)} µs/msg` : '') +
            (r.brokerCpuUs !== undefined ? `, broker ${r.brokerCpuUs.toFixed(1)} µs/msg` : ''),
        ),
    },
  );
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
          if (++done === n) resolve(undefined);
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
        .publish(/** @type {string} */ (m.properties.responseTopic), m.payload, {
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
  const responseTopic = `bench/rr/js/replies/${process.pid}`;
  const pending = new Map();
  const nextCorrelation = correlationPool(); // the driver's strategy: 16 bytes cut from a random pool
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
      const correlationData = nextCorrelation();
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

const cell = (x) => `${perS(x.median)} (${spread(x, perS)})`;
const us = (x) => `${x.toFixed(1)} µs`;

function table(drain, publish, request) {
  const rows = [];
  if (drain) {
    const name = `drain ${DRAIN.toLocaleString('en-US')} QoS 1 (default bufferSize)`;
    const { ours, mqttjs, mosquitto_sub: sub } = drain;
    rows.push([
      name,
      cell(ours.rate),
      `MQTT.js ${cell(mqttjs.rate)}`,
      `${ratio(ours.rate.median, mqttjs.rate.median)}×`,
    ]);
    rows.push([
      name,
      cell(ours.rate),
      `mosquitto_sub ${cell(sub.rate)}`,
      `${ratio(ours.rate.median, sub.rate.median)}×`,
    ]);
    if (ours.brokerCpuUs && mqttjs.brokerCpuUs) {
      const cpu = (r) => `${us(r.clientCpuUs.median)} + broker ${us(r.brokerCpuUs.median)}`;
      const total = (r) => r.clientCpuUs.median + r.brokerCpuUs.median;
      rows.push([
        'drain, CPU per message: client + broker (ratio: ours ÷ MQTT.js, lower is better)',
        cpu(ours),
        `MQTT.js ${cpu(mqttjs)}`,
        `${ratio(total(ours), total(mqttjs))}×`,
      ]);
    }
  }
  for (const q of publish ? [0, 1, 2] : []) {
    const r = publish[`qos${q}`];
    const name = `publish QoS ${q}, ${PUBLISH[q].toLocaleString('en-US')} messages`;
    rows.push([name, cell(r.ours), `MQTT.js ${cell(r.mqttjs)}`, `${ratio(r.ours.median, r.mqttjs.median)}×`]);
  }
  if (request) {
    const name = `request/response ×${CALLERS}, ${RR_TOTAL.toLocaleString('en-US')} round trips`;
    rows.push([
      name,
      cell(request.ours),
      `MQTT.js ${cell(request.mqttjs)}`,
      `${ratio(request.ours.median, request.mqttjs.median)}×`,
    ]);
  }
  return markdownTable(['case', 'ours (driver)', 'rival', 'ratio'], rows);
}

async function main() {
  if (!hasMosquitto) {
    console.error('bench:driver needs mosquitto (apt-get install mosquitto mosquitto-clients)');
    process.exit(1);
  }
  const loadBefore = load();
  const broker = await startMosquitto();
  try {
    console.log(
      `driver bench${quick ? ' (quick)' : ''}: mosquitto on ${broker.url}, ${ROUNDS} round(s), order rotating`,
    );
    const drain = part('drain') ? await benchDrain(broker) : undefined;
    const publish = part('publish') ? await benchPublish(broker.url) : undefined;
    const request = part('request') ? await benchRequest(broker.url) : undefined;
    const printed = table(drain, publish, request);
    console.log(`\n${printed}`);
    if (only || quick) return;
    writeResult(
      'driver',
      {
        benchmark: 'driver: ours vs MQTT.js (and mosquitto_sub for the drain) against mosquitto on loopback',
        unit: 'messages (or round trips) per second, { min, median, max } over rounds (raw rounds kept); ratios of medians; drain CPU in µs per message',
        rounds: ROUNDS,
        payloadBytes: PAYLOAD.length,
        setup:
          "one process for our driver and MQTT.js, contenders rotating their order every round; drain at default settings (ours bufferSize 1,000), timed from connect to the last message in the application's hands (unsubscribing and disconnecting untimed, for every contender), with the CPU per message of the client process and of the broker (/proc) over that window; mosquitto_sub timed to the n-th message it prints; MQTT.js publishes QoS 1/2 within the broker's Receive Maximum by hand; request/response: both requesters take 16-byte Correlation Data from a random pool, both responders reply at QoS 0",
        table: printed,
        drain: drain && { messages: DRAIN, ...drain },
        publish,
        request,
        env: { mosquitto: '2.0.x', mqttjs: mqtt.MQTTJS_VERSION ?? 'mqtt 5.x' },
      },
      loadBefore,
    );
  } finally {
    await broker.stop();
  }
}

await main();
