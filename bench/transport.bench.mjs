/**
 * Transport benchmark: ours (ServerMqttAsync / ClientMqttAsync, MQTT 5) vs Nest's built-in Transport.MQTT
 * (ServerMqtt / ClientMqtt over MQTT.js, its default MQTT 3.1.1), side by side in one run against a private
 * mosquitto on loopback. Run: npm run bench:transport (add -- --quick for a short run).
 *  (a) drain of N QoS 1 messages queued for a persistent session into an @EventPattern handler
 *  (b) RPC: ClientProxy.send() → @MessagePattern with 100 concurrent callers (round trips/s, p50, p99 latency)
 *  (c) events: ClientProxy.emit() at QoS 1 from the same process → @EventPattern, handled/s at the server
 * `--only=drain|rpc|events` runs one part and prints it. Each figure is the median of several rounds; rounds
 * alternate between the contenders. Results with ratios, targets and the environment go to
 * bench/results/transport.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { environment } from './lib/measure.mjs';
import { hasMosquitto, startMosquitto } from './lib/mosquitto.mjs';
import { CALLERS, drainRound, eventsSetup, PROTOCOL, rpcSetup } from './lib/transport-cases.mjs';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const part = (name) => !only || only === name;
const ROUNDS = quick ? 1 : 3;
const DRAIN = quick ? 10_000 : 50_000;
const RPC_TOTAL = quick ? 2_000 : 10_000;
const EVENTS = quick ? 5_000 : 20_000;
const CONTENDERS = ['ours', 'builtin'];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratio = (a, b) => Math.round((a / b) * 100) / 100;
const round2 = (x) => Math.round(x * 100) / 100;

/** Medians of each field over the rounds. */
function medians(results) {
  const out = {};
  for (const key of Object.keys(results[0])) out[key] = median(results.map((r) => r[key]));
  return out;
}

/** Runs `round(contender, i)` ROUNDS times per contender, alternating, and returns the medians per contender. */
async function alternate(round) {
  const results = { ours: [], builtin: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const contender of CONTENDERS) {
      globalThis.gc?.();
      results[contender].push(await round(contender, i));
    }
  }
  return { ours: medians(results.ours), builtin: medians(results.builtin) };
}

async function benchDrain(url) {
  return alternate((contender, i) => drainRound(url, contender, i, DRAIN));
}

/** Steady-state cases: one app + client per contender for all rounds. */
async function benchSteady(setup, n) {
  const running = {};
  for (const contender of CONTENDERS) running[contender] = await setup(contender);
  try {
    return await alternate((contender) => running[contender].round(n));
  } finally {
    for (const contender of CONTENDERS) await running[contender].stop();
  }
}

const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
const fms = (x) => `${x.toFixed(2)} ms`.padStart(10);

function print(drain, rpc, events) {
  console.log(
    `\n${'case'.padEnd(30)}${'n'.padStart(8)}${'ours/s'.padStart(10)}${'built-in/s'.padStart(11)}${'ratio'.padStart(8)}`,
  );
  const row = (name, n, r) =>
    console.log(
      `${name.padEnd(30)}${String(n).padStart(8)}${fmt(r.ours.rate)} ${fmt(r.builtin.rate)}${String(ratio(r.ours.rate, r.builtin.rate)).padStart(8)}`,
    );
  if (drain) row('(a) drain QoS 1', DRAIN, drain);
  if (rpc) {
    row(`(b) rpc x${CALLERS} callers`, RPC_TOTAL, rpc);
    console.log(
      `${'    p50'.padEnd(38)}${fms(rpc.ours.p50)} ${fms(rpc.builtin.p50)}${String(ratio(rpc.ours.p50, rpc.builtin.p50)).padStart(8)}`,
    );
    console.log(
      `${'    p99'.padEnd(38)}${fms(rpc.ours.p99)} ${fms(rpc.builtin.p99)}${String(ratio(rpc.ours.p99, rpc.builtin.p99)).padStart(8)}`,
    );
  }
  if (events) row('(c) events emit QoS 1', EVENTS, events);
}

function nestVersion() {
  const pkg = new URL('../node_modules/@nestjs/microservices/package.json', import.meta.url);
  return JSON.parse(readFileSync(pkg, 'utf8')).version;
}

function results(drain, rpc, events) {
  const rpcOut = (r) => ({ roundTripsPerSecond: r.rate, p50Ms: round2(r.p50), p99Ms: round2(r.p99) });
  return {
    benchmark:
      "transport: ours (ServerMqttAsync/ClientMqttAsync) vs Nest's built-in Transport.MQTT against mosquitto on loopback",
    unit: 'messages (or round trips) per second, median of rounds; latencies in ms',
    quick,
    rounds: ROUNDS,
    protocolVersion: PROTOCOL,
    drain: {
      messages: DRAIN,
      ours: drain.ours.rate,
      builtin: drain.builtin.rate,
      ratio: ratio(drain.ours.rate, drain.builtin.rate),
      target: 'ratio >= 1.4',
      met: drain.ours.rate >= 1.4 * drain.builtin.rate,
    },
    rpc: {
      roundTrips: RPC_TOTAL,
      callers: CALLERS,
      ours: rpcOut(rpc.ours),
      builtin: rpcOut(rpc.builtin),
      throughputRatio: ratio(rpc.ours.rate, rpc.builtin.rate),
      p99Ratio: ratio(rpc.ours.p99, rpc.builtin.p99),
      target: 'throughputRatio >= 2.5 and p99Ratio <= 0.25',
      met: rpc.ours.rate >= 2.5 * rpc.builtin.rate && rpc.ours.p99 <= 0.25 * rpc.builtin.p99,
    },
    events: {
      messages: EVENTS,
      ours: events.ours.rate,
      builtin: events.builtin.rate,
      ratio: ratio(events.ours.rate, events.builtin.rate),
      target: 'ratio >= 2',
      met: events.ours.rate >= 2 * events.builtin.rate,
    },
    setup: {
      payload: 'JSON object, about 60 bytes',
      ours: 'ServerMqttAsync defaults (handler QoS 1, ack on receipt, concurrency 1); ClientMqttAsync send/emit at its default QoS 1',
      builtin:
        'ServerMqtt with subscribeOptions { qos: 1 }; ClientMqtt.send at its default QoS 0, emit with MqttRecordBuilder.setQos(1)',
    },
    env: {
      ...environment(),
      mosquitto: '2.0.x (/usr/sbin/mosquitto)',
      nestMicroservices: nestVersion(),
      mqttjs: mqtt.MQTTJS_VERSION ?? 'mqtt 5.x',
    },
  };
}

async function main() {
  if (!hasMosquitto) {
    console.error('bench:transport needs /usr/sbin/mosquitto (apt-get install mosquitto mosquitto-clients)');
    process.exit(1);
  }
  const broker = await startMosquitto();
  try {
    console.log(`transport bench${quick ? ' (quick)' : ''}: mosquitto on ${broker.url}, ${ROUNDS} round(s), median`);
    const drain = part('drain') ? await benchDrain(broker.url) : undefined;
    const rpc = part('rpc') ? await benchSteady((c) => rpcSetup(broker.url, c), RPC_TOTAL) : undefined;
    const events = part('events') ? await benchSteady((c) => eventsSetup(broker.url, c), EVENTS) : undefined;
    print(drain, rpc, events);
    if (only || quick) return;
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    const out = results(drain, rpc, events);
    writeFileSync(new URL('./results/transport.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
    console.log('\nwritten bench/results/transport.json');
  } finally {
    await broker.stop();
  }
}

await main();
process.exit(0);
