/**
 * Transport benchmark: ours (ServerMqttAsync / ClientMqttAsync, MQTT 5) vs Nest's built-in Transport.MQTT
 * (ServerMqtt / ClientMqtt over MQTT.js, its default MQTT 3.1.1), each at its defaults, against a private mosquitto
 * on loopback with its default config. Run: npm run bench:transport (-- --quick: 1 short round, nothing written;
 * --only=drain,rpc,latency,telemetry,events; --rounds=N, at least 5; --contenders=a,b to run only those, e.g. for
 * profiling with BENCH_CPU_PROF_DIR; --ab=<dir> adds the events contender 'ours-ab', ours from another build).
 *
 * Every case runs in child processes, one contender at a time (for RPC the server app and the client each in their
 * own process, so each side's CPU per round trip is measured), and the contenders' order rotates every round. Each
 * figure is reported as median (min–max) over the rounds; ratios are ratios of medians. The table printed at the
 * end is the one in the README; bench/results/transport.json holds every round, the machine's load before and
 * after, and the settings.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import mqtt from 'mqtt';
import { hasMosquitto, startMosquitto } from './lib/mosquitto.mjs';
import {
  alternate,
  load,
  markdownTable,
  ms,
  parseArgs,
  perS,
  processCpuUs,
  ratio,
  round2,
  spread,
  stats,
  worker,
  writeResult,
} from './lib/runner.mjs';

const args = parseArgs();
const { quick, rounds: ROUNDS, part } = args;
const DRAIN = quick ? 10_000 : 50_000;
const CALLERS = 100;
const RPC_TOTAL = Number(args.value('rpc-total') ?? (quick ? 2_000 : 20_000));
const RPC_WARM = quick ? 500 : 2_000;
const LAT_TOTAL = quick ? 50 : 300;
const LAT_WARM = 30;
const TEL_TOTAL = Number(args.value('telemetry-total') ?? (quick ? 2_000 : 20_000));
const EVENTS = Number(args.value('events-total') ?? (quick ? 5_000 : 20_000));
const EVENTS_WARM = 2_000;
const CHILD = new URL('./lib/transport-child.mjs', import.meta.url);

/** The broker a contender talks to: '…@nodelay' = a second mosquitto with `set_tcp_nodelay true`. */
function brokerFor(contender, brokers) {
  return contender.endsWith('@nodelay') ? brokers.nodelay : brokers.plain;
}
const base = (contender) => contender.replace(/@nodelay$/, '');

/**
 * One RPC round: server process, client process (warm-up), then the measured calls with the CPU of both sides and
 * of the broker (mosquitto's own CPU from /proc: it relays every request and reply, so it shares the machine).
 */
async function rpcRound(kind, contender, brokers, count, total, warm) {
  const broker = brokerFor(contender, brokers);
  const url = broker.url;
  const server = worker(CHILD, ['server', kind, base(contender), url]);
  let client;
  try {
    await server.call('setup');
    client = worker(CHILD, ['client', kind, base(contender), url]);
    await client.call('setup');
    await client.call('warm', { callers: count, total: warm });
    await server.call('cpuStart');
    const broker0 = processCpuUs(broker.pid);
    const r = await client.call('measure', { callers: count, total });
    const broker1 = processCpuUs(broker.pid);
    const { cpuUs } = await server.call('cpuStop');
    const brokerCpu =
      broker0 === undefined || broker1 === undefined ? {} : { brokerCpuUs: (broker1 - broker0) / total };
    return {
      rate: r.rate,
      p50: r.p50,
      p99: r.p99,
      failed: r.failed,
      clientCpuUs: r.clientCpuUs,
      serverCpuUs: cpuUs / total,
      ...brokerCpu,
    };
  } finally {
    await client?.stop();
    await server.stop();
  }
}

/** One drain round in one process. */
async function soloRound(kind, contender, brokers, n, round) {
  const w = worker(CHILD, ['solo', kind, contender, brokers.plain.url]);
  try {
    await w.call('setup');
    const { rate, cpuUs } = await w.call('measure', { n, round });
    return { rate, cpuUs };
  } finally {
    await w.stop();
  }
}

/**
 * `--ab=<dir>`: the extra contender 'ours-ab' is 'ours' loaded from another build (BENCH_DIST, see
 * bench/lib/transport-dist.mjs), for an A/B of a change in the same run. The children inherit the environment.
 */
function spawn(role, kind, contender, url) {
  if (contender !== 'ours-ab') return worker(CHILD, [role, kind, contender, url]);
  const before = process.env.BENCH_DIST;
  process.env.BENCH_DIST = args.value('ab');
  try {
    return worker(CHILD, [role, kind, 'ours', url]);
  } finally {
    if (before === undefined) delete process.env.BENCH_DIST;
    else process.env.BENCH_DIST = before;
  }
}

/**
 * One events round: the receiving app and the emitter each in their own process (a warm-up burst first), then
 * `n` events with the CPU of the emitter, the server and the broker per event. The rate runs from the first
 * emit to the last event handled (wall clocks of the two processes on one machine).
 */
async function eventsRound(contender, brokers, n) {
  const broker = brokers.plain;
  const server = spawn('server', 'events', contender, broker.url);
  let client;
  try {
    const { topic } = await server.call('setup');
    client = spawn('client', 'events', contender, broker.url);
    await client.call('setup', { topic });
    const burst = async (count, profile) => {
      await server.call('expect', { n: count, profile });
      const broker0 = processCpuUs(broker.pid);
      const [sent, handled] = await Promise.all([
        client.call('emit', { n: count, profile }),
        server.call('done', { profile }),
      ]);
      const broker1 = processCpuUs(broker.pid);
      const brokerCpu =
        broker0 === undefined || broker1 === undefined ? {} : { brokerCpuUs: (broker1 - broker0) / count };
      return {
        rate: (count * 1000) / (handled.at - sent.t0),
        emitterCpuUs: sent.cpuUs / count,
        serverCpuUs: handled.cpuUs / count,
        serverReads: handled.readsPerEvent,
        serverWrites: handled.writesPerEvent,
        ...brokerCpu,
      };
    };
    await burst(EVENTS_WARM, false);
    return await burst(n, true);
  } finally {
    await client?.stop();
    await server.stop();
  }
}

const log = (kind) => (contender, i, r) =>
  console.log(
    `  ${kind} round ${i + 1} ${contender.padEnd(17)} ${Object.entries(r)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? round2(v) : v}`)
      .join(' ')}`,
  );

/** `--contenders=a,b` keeps only those (for profiling one side); the results file needs them all. */
const pick = (list) => {
  const only = args.value('contenders')?.split(',');
  return only ? list.filter((c) => only.includes(c)) : list;
};

async function run(brokers) {
  const out = {};
  if (part('drain')) {
    out.drain = await alternate(pick(['ours', 'builtin']), ROUNDS, (c, i) => soloRound('drain', c, brokers, DRAIN, i), {
      onRound: log('drain'),
    });
  }
  if (part('rpc')) {
    out.rpc = await alternate(
      pick(['ours', 'builtin', 'ours-qos1', 'driver']),
      ROUNDS,
      (c) => rpcRound('rpc', c, brokers, CALLERS, RPC_TOTAL, RPC_WARM),
      { onRound: log('rpc') },
    );
  }
  if (part('latency')) {
    out.latency = await alternate(
      pick(['ours', 'builtin', 'ours-qos1', 'driver', 'builtin@nodelay', 'ours-qos1@nodelay']),
      ROUNDS,
      (c) => rpcRound('latency', c, brokers, 1, LAT_TOTAL, LAT_WARM),
      { onRound: log('latency') },
    );
  }
  if (part('telemetry')) {
    out.telemetry = await alternate(
      pick(['ours', 'ours-notel', 'ours-sdk']),
      ROUNDS,
      (c) => rpcRound('rpc', c, brokers, CALLERS, TEL_TOTAL, RPC_WARM),
      { onRound: log('telemetry') },
    );
  }
  if (part('events')) {
    const ab = args.value('ab') ? ['ours-ab'] : [];
    out.events = await alternate(
      pick(['ours', 'builtin', 'driver', ...ab]),
      ROUNDS,
      (c) => eventsRound(c, brokers, EVENTS),
      {
        onRound: log('events'),
      },
    );
  }
  return out;
}

// ---------- the table (printed, and the README's) ----------

/** Median CPU µs per round trip of the client and server processes together. */
const cpuBoth = (r) => r.clientCpuUs.median + r.serverCpuUs.median;
/** The same with the broker's. */
const cpuAll = (r) => cpuBoth(r) + (r.brokerCpuUs?.median ?? 0);

/** Median CPU µs per event of the emitter, the server and the broker together. */
const eventCpuAll = (r) => r.emitterCpuUs.median + r.serverCpuUs.median + (r.brokerCpuUs?.median ?? 0);

/**
 * Client, server and broker share the machine's cores, so when the CPU is the limit a contender can be at most
 * (the built-in's CPU per round trip, all three processes) / (its own) times faster than the built-in. The driver's
 * request() against a raw driver responder (no Nest, no JSON) is the floor of our stack.
 */
function cpuCeiling(rpc) {
  const b = cpuAll(rpc.builtin);
  return {
    oursVsBuiltin: ratio(b, cpuAll(rpc.ours)),
    driverVsBuiltin: ratio(b, cpuAll(rpc.driver)),
    note: 'max throughput ratio vs the built-in when CPU-bound: built-in CPU per round trip / ours (client + server + broker)',
  };
}

const cell = (s, f) => `${f(s.median)} (${spread(s, f)})`;
const check = (ok) => (ok ? '✅' : '❌');
const us = (x) => `${x.toFixed(1)} µs`;
const failedAny = (r) => r.failed.max > 0;

/** Ratios and targets from the summaries (ratios of medians). */
export function verdicts(res) {
  const v = {};
  if (res.drain) {
    const r = ratio(res.drain.ours.rate.median, res.drain.builtin.rate.median);
    v.drain = { ratio: r, target: '>= 2.0', met: r >= 2 };
  }
  if (res.rpc) {
    const { ours, builtin, driver } = res.rpc;
    const t = ratio(ours.rate.median, builtin.rate.median);
    const p99 = ratio(ours.p99.median, builtin.p99.median);
    v.rpcQos0 = {
      throughputRatio: t,
      p99Ratio: p99,
      target: 'throughput >= 2.0, p99 <= 0.5',
      met: t >= 2 && p99 <= 0.5,
    };
    v.rpcDefaults = { throughputRatio: t, target: '>= 1.3', met: t >= 1.3 };
    const q1 = ratio(res.rpc['ours-qos1'].rate.median, builtin.rate.median);
    v.rpcQos1 = { throughputRatio: q1, note: 'ours requestQos 1 vs built-in defaults (QoS 0): informative' };
    const d = ratio(ours.rate.median, driver.rate.median);
    v.nestVsDriver = { ratio: d, target: '>= 0.7', met: d >= 0.7 };
    v.rivalStalled = failedAny(builtin);
  }
  if (res.latency) {
    const p50 = res.latency.ours.p50.median;
    v.latency = {
      oursP50Ms: round2(p50),
      target: 'p50 <= 1 ms (one caller, our defaults, mosquitto defaults)',
      met: p50 <= 1,
    };
  }
  if (res.events) {
    const { ours, builtin, driver } = res.events;
    const r = ratio(ours.rate.median, builtin.rate.median);
    v.events = { ratio: r, target: '>= 2.0', met: r >= 2 };
    if (builtin.brokerCpuUs && ours.brokerCpuUs && driver?.brokerCpuUs) {
      const b = eventCpuAll(builtin);
      v.eventsCpuCeiling = {
        oursVsBuiltin: ratio(b, eventCpuAll(ours)),
        driverVsBuiltin: ratio(b, eventCpuAll(driver)),
        note: 'max handled/s ratio vs the built-in when CPU-bound: built-in CPU per event / ours (emitter + server + broker)',
      };
    }
  }
  if (res.rpc?.builtin.brokerCpuUs) v.cpuCeiling = cpuCeiling(res.rpc);
  if (res.telemetry) {
    const off = res.telemetry['ours-notel'];
    // Paired per round: the three contenders of a round run back to back under the same load, so the median of
    // the per-round ratios cancels the load drifting between rounds (ratios of medians did not: identical code
    // paths differed by 11% in a loaded run).
    const paired = (r, f) => stats(r.rounds.map((x, i) => f(x) / f(off.rounds[i]))).median;
    const cost = (r) => ({
      cpuCostPct: round2((paired(r, (x) => x.clientCpuUs + x.serverCpuUs) - 1) * 100),
      throughputRatio: round2(paired(r, (x) => x.rate)),
    });
    const noop = cost(res.telemetry.ours);
    v.telemetryNoop = { ...noop, target: 'CPU per round trip <= 3% above telemetry: false', met: noop.cpuCostPct <= 3 };
    v.telemetrySdk = { ...cost(res.telemetry['ours-sdk']), note: 'SDK + BatchSpanProcessor: reported, no target' };
  }
  return v;
}

export function tables(res, v) {
  const parts = [];
  const rows = [];
  if (res.drain) {
    const { ours, builtin } = res.drain;
    rows.push([
      `drain ${DRAIN.toLocaleString('en-US')} QoS 1, msgs/s`,
      cell(ours.rate, perS),
      cell(builtin.rate, perS),
      `${v.drain.ratio}×`,
      `≥ 2.0 ${check(v.drain.met)}`,
    ]);
  }
  if (res.rpc) {
    const { ours, builtin, driver } = res.rpc;
    const q1 = res.rpc['ours-qos1'];
    const stalled = v.rivalStalled ? ' (built-in had unanswered calls)' : '';
    rows.push([
      `RPC ×${CALLERS}, defaults (both QoS 0), round trips/s${stalled}`,
      cell(ours.rate, perS),
      cell(builtin.rate, perS),
      `${v.rpcQos0.throughputRatio}×`,
      `≥ 2.0 ${check(v.rpcQos0.throughputRatio >= 2)}, ≥ 1.3 ${check(v.rpcDefaults.met)}`,
    ]);
    rows.push([
      `RPC ×${CALLERS}, defaults, p99`,
      cell(ours.p99, ms),
      cell(builtin.p99, ms),
      `${v.rpcQos0.p99Ratio}×`,
      `≤ 0.5 ${check(v.rpcQos0.p99Ratio <= 0.5)}`,
    ]);
    rows.push([
      `RPC ×${CALLERS}, ours requestQos 1 vs built-in defaults`,
      cell(q1.rate, perS),
      cell(builtin.rate, perS),
      `${v.rpcQos1.throughputRatio}×`,
      '–',
    ]);
    rows.push([
      `RPC ×${CALLERS}, ours (Nest) vs our driver's request(), same run`,
      cell(ours.rate, perS),
      cell(driver.rate, perS),
      `${v.nestVsDriver.ratio}×`,
      `≥ 0.7 ${check(v.nestVsDriver.met)}`,
    ]);
  }
  if (res.events) {
    const { ours, builtin } = res.events;
    rows.push([
      `events, emit QoS 1, handled/s`,
      cell(ours.rate, perS),
      cell(builtin.rate, perS),
      `${v.events.ratio}×`,
      `≥ 2.0 ${check(v.events.met)}`,
    ]);
  }
  if (rows.length > 0)
    parts.push(markdownTable(['case', 'ours', 'rival', 'ratio', 'target'], rows, ['l', 'r', 'r', 'r', 'l']));
  if (res.rpc) {
    const names = {
      ours: 'ours (defaults)',
      builtin: 'built-in (defaults)',
      'ours-qos1': 'ours, requestQos 1',
      driver: 'driver request()',
    };
    const broker = (r) => (r.brokerCpuUs ? cell(r.brokerCpuUs, us) : '–');
    parts.push(
      markdownTable(
        [
          `RPC ×${CALLERS}, CPU per round trip`,
          'client process',
          'server process',
          'client + server',
          'broker (mosquitto)',
          'all three',
        ],
        Object.entries(names).map(([k, name]) => {
          const r = res.rpc[k];
          return [
            name,
            cell(r.clientCpuUs, us),
            cell(r.serverCpuUs, us),
            us(cpuBoth(r)),
            broker(r),
            r.brokerCpuUs ? us(cpuAll(r)) : '–',
          ];
        }),
      ),
    );
    if (v.cpuCeiling) {
      parts.push(
        `CPU ceiling: client, server and broker share ${os.cpus().length} cores, so when the CPU is the limit the most ` +
          `a contender can gain over the built-in is the built-in's CPU per round trip (all three) over its own: ` +
          `ours ${v.cpuCeiling.oursVsBuiltin}×, our driver's request() against a raw responder (the floor of our ` +
          `stack: no Nest, no JSON) ${v.cpuCeiling.driverVsBuiltin}×.`,
      );
    }
  }
  if (res.events) {
    const names = {
      ours: 'ours (ClientMqttAsync.emit → ServerMqttAsync @EventPattern)',
      builtin: 'built-in (ClientMqtt.emit → ServerMqtt @EventPattern)',
      driver: 'driver publish() → raw driver subscriber (JSON.parse, no Nest)',
    };
    const broker = (r) => (r.brokerCpuUs ? cell(r.brokerCpuUs, us) : '–');
    parts.push(
      markdownTable(
        ['events, CPU per event', 'emitter process', 'server process', 'broker (mosquitto)', 'all three', 'handled/s'],
        Object.entries(names)
          .filter(([k]) => res.events[k])
          .map(([k, name]) => {
            const r = res.events[k];
            return [
              name,
              cell(r.emitterCpuUs, us),
              cell(r.serverCpuUs, us),
              broker(r),
              r.brokerCpuUs ? us(eventCpuAll(r)) : '–',
              cell(r.rate, perS),
            ];
          }),
      ),
    );
    if (v.eventsCpuCeiling) {
      parts.push(
        `Events CPU ceiling: when the CPU is the limit the most a contender can gain over the built-in is the ` +
          `built-in's CPU per event (emitter, server and broker) over its own: ours ${v.eventsCpuCeiling.oursVsBuiltin}×, ` +
          `the raw driver (the floor of any Nest path on our driver) ${v.eventsCpuCeiling.driverVsBuiltin}×.`,
      );
    }
  }
  if (res.telemetry) {
    const t = res.telemetry;
    const rows = [
      ['`telemetry: false`', t['ours-notel'], undefined],
      ['on, no-op providers (API installed, no SDK: the default)', t.ours, v.telemetryNoop],
      ['on, OpenTelemetry SDK + BatchSpanProcessor', t['ours-sdk'], v.telemetrySdk],
    ];
    parts.push(
      markdownTable(
        [
          `RPC ×${CALLERS}, telemetry`,
          'round trips/s',
          'CPU per round trip (client + server)',
          'cost vs off (median of per-round ratios)',
          'target',
        ],
        rows.map(([name, r, cost], i) => [
          name,
          cell(r.rate, perS),
          `${us(cpuBoth(r))} (client ${us(r.clientCpuUs.median)}, server ${us(r.serverCpuUs.median)})`,
          cost ? `${cost.cpuCostPct >= 0 ? '+' : ''}${cost.cpuCostPct}% CPU, ${cost.throughputRatio}× throughput` : '–',
          i === 1 ? `≤ 3% CPU ${check(cost.met)}` : '–',
        ]),
        ['l', 'r', 'r', 'r', 'l'],
      ),
    );
  }
  if (res.latency) {
    const names = {
      ours: 'ours (defaults: requestQos 0)',
      'ours-qos1': 'ours, requestQos 1',
      builtin: 'built-in (defaults)',
      driver: 'driver request(), QoS 0',
      'ours-qos1@nodelay': 'ours, requestQos 1, broker set_tcp_nodelay',
      'builtin@nodelay': 'built-in, broker set_tcp_nodelay',
    };
    parts.push(
      markdownTable(
        ['one caller, sequential send()', 'p50', 'p99', 'calls/s'],
        Object.entries(names).map(([k, name]) => {
          const r = res.latency[k];
          return [name, cell(r.p50, ms), cell(r.p99, ms), cell(r.rate, perS)];
        }),
      ),
    );
    parts.push(`One-caller target: p50 ≤ 1 ms at our defaults against mosquitto's defaults ${check(v.latency.met)}`);
  }
  return parts.join('\n\n');
}

function nestVersion() {
  const pkg = new URL('../node_modules/@nestjs/microservices/package.json', import.meta.url);
  return JSON.parse(readFileSync(pkg, 'utf8')).version;
}

async function main() {
  if (!hasMosquitto) {
    console.error('bench:transport needs /usr/sbin/mosquitto (apt-get install mosquitto mosquitto-clients)');
    process.exit(1);
  }
  const loadBefore = load();
  const brokers = { plain: await startMosquitto({ nodelay: false }), nodelay: await startMosquitto({ nodelay: true }) };
  try {
    console.log(
      `transport bench${quick ? ' (quick)' : ''}: ${ROUNDS} round(s), contenders rotate; load ${JSON.stringify(loadBefore)}`,
    );
    const res = await run(brokers);
    if (args.value('contenders')) return;
    const v = verdicts(res);
    const table = tables(res, v);
    console.log(`\n${table}`);
    if (quick || args.only) return;
    writeResult(
      'transport',
      {
        benchmark:
          "transport: ours (ServerMqttAsync/ClientMqttAsync) vs Nest's built-in Transport.MQTT, each at its defaults, against mosquitto on loopback",
        unit: 'rates per second, latencies in ms, cpu in µs per message or round trip; each figure { min, median, max } over rounds, raw rounds kept',
        rounds: ROUNDS,
        verdicts: v,
        table,
        results: res,
        setup: {
          payload: 'JSON object, about 60 bytes',
          broker:
            'private mosquitto 2.0 on 127.0.0.1, default config (Nagle on; Receive Maximum 20); a second one with set_tcp_nodelay true for the @nodelay latency rows',
          processes:
            'each round of each contender in fresh child processes; RPC: the server app and the client in two processes (clientCpuUs, serverCpuUs per round trip); events: the emitter and the event app in two processes (emitterCpuUs, serverCpuUs per event); drain: app and filler in one process (cpuUs per message)',
          order: 'contenders rotate their order every round',
          ours: 'ServerMqttAsync defaults (MQTT 5, handler QoS 1, ack on receipt, concurrency 1); ClientMqttAsync defaults (send at requestQos 0, emit at QoS 1); ours-qos1: requestQos 1',
          builtin:
            'ServerMqtt with subscribeOptions { qos: 1 }; ClientMqtt defaults (send at QoS 0), emit with MqttRecordBuilder.setQoS(1); one never-answered send holds its <topic>/reply subscription (it loses replies when it resubscribes between bursts)',
          driver:
            "our driver's request() at QoS 0 (random correlation data from a pool) against a raw driver responder echoing the payload (no JSON, no Nest)",
          rpc: `${CALLERS} concurrent callers, ${RPC_TOTAL} round trips measured after ${RPC_WARM} warm-up`,
          latency: `one caller, ${LAT_TOTAL} sequential calls after ${LAT_WARM} warm-up`,
          drain: `${DRAIN} QoS 1 messages queued for a persistent session, timed from listen() until the handler saw all`,
          telemetry: `RPC as above, ${TEL_TOTAL} round trips, ours with telemetry off, on with the no-op providers (the default when @opentelemetry/api is installed and no SDK is registered), and on with the SDK registered in both processes (BasicTracerProvider + BatchSpanProcessor to a dropping exporter, MeterProvider, AsyncLocalStorage context manager, W3C propagator: bench/lib/otel-sdk.mjs)`,
          brokerCpu:
            'mosquitto utime + stime from /proc/<pid>/stat over the measured window, per round trip (10 ms resolution)',
          events: `ClientProxy.emit at QoS 1 with at most 1,000 unconfirmed (emitter process) into one @EventPattern handler that counts (server process: ours at its defaults, handler QoS 1, ack on receipt, concurrency 1; built-in subscribeOptions { qos: 1 }), ${EVENTS} per round after ${EVENTS_WARM} warm-up, timed from the first emit until the handler saw all; driver: our driver's publish() at QoS 1 into a raw driver subscriber (QoS 1, auto ack, JSON.parse per message), the floor of any Nest path on our driver. Until issue 14 the emitter and the app shared one process (one thread), which made the rate the inverse of their summed CPU per event`,
        },
        env: {
          mosquitto: '2.0.x (/usr/sbin/mosquitto)',
          nestMicroservices: nestVersion(),
          mqttjs: mqtt.MQTTJS_VERSION ?? 'mqtt 5.x',
        },
      },
      loadBefore,
    );
  } finally {
    await brokers.plain.stop();
    await brokers.nodelay.stop();
  }
}

await main();
process.exit(0);
