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
import { CALLERS, drainRound, EMIT_WINDOW, eventsSetup, PROTOCOL, rpcSetup } from './lib/transport-cases.mjs';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const part = (name) => !only || only === name;
const ROUNDS = quick ? 1 : 5;
const DRAIN = quick ? 10_000 : 50_000;
const RPC_TOTAL = quick ? 2_000 : 10_000;
const EVENTS = quick ? 5_000 : 20_000;
const CONTENDERS = ['ours', 'builtin'];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratio = (a, b) => Math.round((a / b) * 100) / 100;
const round2 = (x) => Math.round(x * 100) / 100;

/** Medians of each field over the rounds; `failed` is summed. */
function medians(results) {
  const out = {};
  for (const key of Object.keys(results[0])) {
    const values = results.map((r) => r[key]);
    out[key] = key === 'failed' ? values.reduce((a, b) => a + b, 0) : median(values);
  }
  return out;
}

/** Runs `round(contender, i)` ROUNDS times per contender, alternating, and returns the medians per contender. */
async function alternate(round, contenders = CONTENDERS) {
  const results = Object.fromEntries(contenders.map((c) => [c, []]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const contender of contenders) {
      globalThis.gc?.();
      results[contender].push(await round(contender, i));
    }
  }
  return Object.fromEntries(contenders.map((c) => [c, medians(results[c])]));
}

async function benchDrain(url) {
  return alternate((contender, i) => drainRound(url, contender, i, DRAIN));
}

/** Steady-state cases: one app + client per contender for all rounds. */
async function benchSteady(setup, n, contenders = CONTENDERS) {
  const running = {};
  for (const contender of contenders) running[contender] = await setup(contender);
  try {
    return await alternate((contender) => running[contender].round(n), contenders);
  } finally {
    for (const contender of contenders) await running[contender].stop();
  }
}

function print(drain, rpc, events) {
  const head = `${'case'.padEnd(34)}${'n'.padStart(7)}${'ours'.padStart(11)}${'built-in'.padStart(11)}${'ratio'.padStart(7)}`;
  console.log(`\n${head}`);
  const line = (name, n, ours, builtin, f) =>
    console.log(
      `${name.padEnd(34)}${String(n).padStart(7)}${f(ours).padStart(11)}${f(builtin).padStart(11)}${String(ratio(ours, builtin)).padStart(7)}`,
    );
  const perS = (x) => `${Math.round(x).toLocaleString('en-US')}/s`;
  const ms = (x) => `${x.toFixed(2)} ms`;
  const us = (x) => `${x.toFixed(1)} µs`;
  const cpuLine = (ours, builtin) => line('      CPU per message', '', ours.cpuUs, builtin.cpuUs, us);
  if (drain) {
    line('(a) drain QoS 1', DRAIN, drain.ours.rate, drain.builtin.rate, perS);
    cpuLine(drain.ours, drain.builtin);
  }
  if (rpc) {
    for (const [name, key] of [
      [`(b) rpc x${CALLERS}, ours QoS 1 (default)`, 'ours'],
      [`(b) rpc x${CALLERS}, ours QoS 0`, 'ours-qos0'],
    ]) {
      line(name, RPC_TOTAL, rpc[key].rate, rpc.builtin.rate, perS);
      line('      p50', '', rpc[key].p50, rpc.builtin.p50, ms);
      line('      p99', '', rpc[key].p99, rpc.builtin.p99, ms);
      cpuLine(rpc[key], rpc.builtin);
    }
    const failed = Object.entries(rpc).filter(([, r]) => r.failed > 0);
    for (const [name, r] of failed) console.log(`      ${name}: ${r.failed} call(s) unanswered within 5 s`);
  }
  if (events) {
    line('(c) events emit QoS 1', EVENTS, events.ours.rate, events.builtin.rate, perS);
    cpuLine(events.ours, events.builtin);
  }
}

function nestVersion() {
  const pkg = new URL('../node_modules/@nestjs/microservices/package.json', import.meta.url);
  return JSON.parse(readFileSync(pkg, 'utf8')).version;
}

function results(drain, rpc, events) {
  const rpcOut = (r) => ({
    roundTripsPerSecond: r.rate,
    p50Ms: round2(r.p50),
    p99Ms: round2(r.p99),
    unanswered: r.failed,
    cpuUsPerRoundTrip: round2(r.cpuUs),
  });
  const cpu = (r) => ({ ours: round2(r.ours.cpuUs), builtin: round2(r.builtin.cpuUs) });
  return {
    benchmark:
      "transport: ours (ServerMqttAsync/ClientMqttAsync) vs Nest's built-in Transport.MQTT against mosquitto on loopback",
    unit: 'messages (or round trips) per second, median of rounds; latencies in ms; cpuUs = CPU microseconds (user + system) of the bench process (Nest app + client, not mosquitto) per message or round trip',
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
      cpuUsPerMessage: cpu(drain),
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
      sameQos: {
        note: "ours with ClientMqttAsync { qos: 0 }, the built-in ClientMqtt's default (no PUBACKs either way)",
        ours: rpcOut(rpc['ours-qos0']),
        throughputRatio: ratio(rpc['ours-qos0'].rate, rpc.builtin.rate),
        p99Ratio: ratio(rpc['ours-qos0'].p99, rpc.builtin.p99),
      },
    },
    events: {
      messages: EVENTS,
      ours: events.ours.rate,
      builtin: events.builtin.rate,
      ratio: ratio(events.ours.rate, events.builtin.rate),
      target: 'ratio >= 2',
      met: events.ours.rate >= 2 * events.builtin.rate,
      cpuUsPerMessage: cpu(events),
    },
    setup: {
      payload: 'JSON object, about 60 bytes',
      broker:
        'private mosquitto 2.0 on 127.0.0.1, default limits (20 QoS 1/2 in flight per client, Receive Maximum 20)',
      ours: 'ServerMqttAsync defaults (handler QoS 1, ack on receipt, concurrency 1); ClientMqttAsync send/emit at its default QoS 1 (rpc.sameQos: QoS 0)',
      builtin:
        'ServerMqtt with subscribeOptions { qos: 1 }; ClientMqtt.send at its default QoS 0, emit with MqttRecordBuilder.setQoS(1); one never-answered send keeps its reply subscription (it loses replies when it resubscribes between bursts)',
      drain: 'timed from listen() until the handler saw every queued message',
      events: `in-process ClientProxy.emit with at most ${EMIT_WINDOW} emits unconfirmed; timed until the handler saw every event`,
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
    const rpc = part('rpc')
      ? await benchSteady((c) => rpcSetup(broker.url, c), RPC_TOTAL, ['ours', 'ours-qos0', 'builtin'])
      : undefined;
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
