/**
 * `npm run bench:scale`: the driver at scale against a private mosquitto, MQTT.js side by side, each case with
 * its time and memory (heap used after GC before and after, heap at the peak) → bench/results/scale.json.
 * Cases: 10,000 idle subscriptions on one client (heap they retain, time and client CPU to subscribe them; then one
 * message to each), 1,000 concurrent request/response round trips, 100,000 QoS 1 publishes issued at once and queued behind
 * the server's Receive Maximum. Every case runs for each contender in a fresh process against a fresh broker,
 * 5 rounds with the contenders' order rotating; figures are min/median/max. `--only=subs|rpc|queue`, `--quick`
 * (a tenth of each, 1 round, nothing written).
 */
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { connect } from '../dist/driver/index.js';
import { mb, memoryAfterGc } from './lib/memory.mjs';
import { hasMosquitto, startMosquitto } from './lib/mosquitto.mjs';
import {
  alternate,
  correlationPool,
  load,
  markdownTable,
  parseArgs,
  ratio,
  serveCommands,
  worker,
  writeResult,
} from './lib/runner.mjs';

const args = parseArgs();
const { quick, rounds: ROUNDS } = args;
const scale = quick ? 0.1 : 1;
const SUBS = 10_000 * scale;
const RPCS = 1_000 * scale;
const QUEUED = 100_000 * scale;

function memory() {
  const m = memoryAfterGc();
  return { heapUsed: m.heapUsed, rss: m.rss };
}
/** Runs `fn(peak)`; `peak()` samples the heap (no GC) at the moment the most is held. */
async function measure(fn) {
  const before = memory();
  let peakHeap = process.memoryUsage().heapUsed;
  const peak = () => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  const t0 = performance.now();
  const extra = await fn(peak, before);
  const ms = performance.now() - t0;
  const after = memory();
  return {
    ms: Math.round(ms),
    heapPeakDeltaMB: mb(peakHeap - before.heapUsed),
    heapRetainedDeltaMB: mb(after.heapUsed - before.heapUsed),
    rssDeltaMB: mb(after.rss - before.rss),
    ...extra,
  };
}
/**
 * The client process's CPU (user + system) per subscribe() since `cpu0`, in µs: unlike the wall time it does not
 * grow with the machine's load, and it leaves out the broker's share of the round trip.
 * @param {NodeJS.CpuUsage} cpu0
 */
function cpuPerSubscribe(cpu0) {
  const { user, system } = process.cpuUsage(cpu0);
  return Math.round(((user + system) / SUBS) * 10) / 10;
}
const mqttjs = (url, o = {}) => mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...o });

/**
 * 10,000 subscribe() calls at once; the heap the idle Subscriptions retain (after GC, nothing received yet) and
 * the time to subscribe them; then one QoS 0 message to each filter, each read by its own `for await` loop.
 */
async function subsDriver(url) {
  const pub = await connect(url, { reconnect: false });
  const c = await connect(url, { reconnect: false });
  const result = await measure(async (peak, before) => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const subs = await Promise.all(Array.from({ length: SUBS }, (_, i) => c.subscribe(`scale/${i}/+`)));
    const subscribeMs = Math.round(performance.now() - t0);
    const subscribeCpuUs = cpuPerSubscribe(cpu0);
    peak();
    const idleBytesPerSubscription = Math.round((memory().heapUsed - before.heapUsed) / SUBS);
    const t = performance.now();
    let got = 0;
    const all = new Promise((resolve) => {
      for (const s of subs)
        (async () => {
          for await (const _ of s) if (++got === SUBS) resolve(undefined);
        })();
    });
    for (let i = 0; i < SUBS; i++) void pub.publish(`scale/${i}/x`, 'm');
    await all;
    peak();
    globalThis.keep = subs;
    return {
      subscriptions: SUBS,
      subscribeMs,
      subscribeCpuUs,
      idleBytesPerSubscription,
      deliverOneEachMs: Math.round(performance.now() - t),
    };
  });
  globalThis.keep = undefined;
  await c.disconnect();
  await pub.disconnect();
  return result;
}

async function subsMqttjs(url) {
  const pub = await mqttjs(url);
  const c = await mqttjs(url);
  const result = await measure(async (peak, before) => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(Array.from({ length: SUBS }, (_, i) => c.subscribeAsync(`scale/${i}/+`)));
    const subscribeMs = Math.round(performance.now() - t0);
    const subscribeCpuUs = cpuPerSubscribe(cpu0);
    peak();
    const idleBytesPerSubscription = Math.round((memory().heapUsed - before.heapUsed) / SUBS);
    const t = performance.now();
    let got = 0;
    const all = new Promise((resolve) => c.on('message', () => ++got === SUBS && resolve(undefined)));
    for (let i = 0; i < SUBS; i++) void pub.publishAsync(`scale/${i}/x`, 'm');
    await all;
    peak();
    return {
      subscriptions: SUBS,
      subscribeMs,
      subscribeCpuUs,
      idleBytesPerSubscription,
      deliverOneEachMs: Math.round(performance.now() - t),
    };
  });
  await c.endAsync();
  await pub.endAsync();
  return result;
}

/** A responder echoing to the Response Topic with the Correlation Data. */
async function responder(url) {
  const r = await connect(url, { reconnect: false });
  const sub = await r.subscribe('scale/rpc', { qos: 1 });
  (async () => {
    for await (const m of sub) {
      const { responseTopic, correlationData } = m.properties;
      // A reply still unconfirmed when the case disconnects rejects (MqttDisconnectedError): nothing waits for it.
      r.publish(/** @type {string} */ (responseTopic), m.payload, { qos: 1, properties: { correlationData } }).catch(
        () => {},
      );
    }
  })();
  return r;
}

async function rpcDriver(url) {
  const r = await responder(url);
  const c = await connect(url, { reconnect: false });
  await c.request('scale/rpc', 'warm-up', { qos: 1 });
  const result = await measure(async (peak) => {
    const calls = Array.from({ length: RPCS }, (_, i) => c.request('scale/rpc', `q${i}`, { qos: 1, timeout: 60_000 }));
    peak();
    const replies = await Promise.all(calls);
    peak();
    const wrong = replies.filter((m, i) => m.payload.toString() !== `q${i}`).length;
    return { concurrent: RPCS, wrong };
  });
  await c.disconnect();
  await r.disconnect();
  return result;
}

async function rpcMqttjs(url) {
  const r = await responder(url);
  const c = await mqttjs(url);
  const replyTopic = `scale/reply/${process.pid}`;
  const pending = new Map();
  const nextCorrelation = correlationPool(); // the driver's strategy
  c.on('message', (_t, payload, packet) => {
    const key = packet.properties?.correlationData?.toString('hex');
    pending.get(key)?.(payload);
    pending.delete(key);
  });
  await c.subscribeAsync(replyTopic, { qos: 1 });
  const request = (payload) =>
    new Promise((resolve) => {
      const correlationData = nextCorrelation();
      pending.set(correlationData.toString('hex'), resolve);
      void c.publishAsync('scale/rpc', payload, { qos: 1, properties: { responseTopic: replyTopic, correlationData } });
    });
  await request('warm-up');
  const result = await measure(async (peak) => {
    const calls = Array.from({ length: RPCS }, (_, i) => request(`q${i}`));
    peak();
    const replies = await Promise.all(calls);
    peak();
    return { concurrent: RPCS, wrong: replies.filter((p, i) => p.toString() !== `q${i}`).length };
  });
  await c.endAsync();
  await r.disconnect();
  return result;
}

/** 100,000 QoS 1 publishes issued in one go: the excess over Receive Maximum waits in the driver's queue. */
async function queueDriver(url) {
  const c = await connect(url, { reconnect: false });
  const receiveMaximum = c.serverProperties?.receiveMaximum ?? 65535;
  const payload = Buffer.alloc(64, 7);
  const result = await measure(async (peak) => {
    const all = Array.from({ length: QUEUED }, (_, i) => c.publish(`scale/q/${i % 10}`, payload, { qos: 1 }));
    // `outbound` is internal (not in the published types): the bench peeks at the driver's queue.
    const queuedAtPeak = /** @type {any} */ (c).outbound.size;
    peak();
    const settled = await Promise.allSettled(all);
    return {
      messages: QUEUED,
      serverReceiveMaximum: receiveMaximum,
      queuedAtPeak,
      rejected: settled.filter((s) => s.status === 'rejected').length,
    };
  });
  await c.disconnect();
  return result;
}

/**
 * Resolves once every promise settled or none settled for `stallMs`: MQTT.js never settles a publish issued
 * while all 65,535 packet ids are in use (mqttjs/MQTT.js#1372), so waiting longer measures nothing.
 */
async function settleOrStall(all, stallMs) {
  let settled = 0;
  let lastAt = performance.now();
  const onSettled = () => {
    settled++;
    lastAt = performance.now();
  };
  for (const p of all) p.then(onSettled, onSettled);
  while (settled < all.length && performance.now() - lastAt < stallMs) await new Promise((r) => setTimeout(r, 100));
  return { settled, lastSettledAt: lastAt };
}

async function queueMqttjs(url) {
  const c = await mqttjs(url);
  const payload = Buffer.alloc(64, 7);
  let errors = 0;
  c.on('error', () => errors++);
  const t0 = performance.now();
  const result = await measure(async (peak) => {
    const all = Array.from({ length: QUEUED }, (_, i) => c.publishAsync(`scale/q/${i % 10}`, payload, { qos: 1 }));
    peak();
    const { settled, lastSettledAt } = await settleOrStall(all, 10_000);
    if (settled === QUEUED) {
      const rejected = (await Promise.allSettled(all)).filter((s) => s.status === 'rejected').length;
      return { messages: QUEUED, rejected, errors };
    }
    // No time for a run that never finishes; how many settled, and when the last did, instead.
    return { ms: null, messages: QUEUED, settled, lastSettledMs: Math.round(lastSettledAt - t0), errors };
  });
  c.end(true);
  return result;
}

const CASES = {
  subs: { ours: subsDriver, mqttjs: subsMqttjs },
  rpc: { ours: rpcDriver, mqttjs: rpcMqttjs },
  queue: { ours: queueDriver, mqttjs: queueMqttjs },
};

async function runOnce(name, contender) {
  const broker = await startMosquitto();
  const w = worker(fileURLToPath(import.meta.url), [
    '--child',
    name,
    contender,
    broker.url,
    ...(quick ? ['--quick'] : []),
  ]);
  try {
    return await w.call('measure');
  } finally {
    await w.stop();
    await broker.stop();
  }
}

const cell = (s, unit = '') => (s ? `${s.median}${unit} (${s.min}–${s.max})` : 'n/a');

function table(cases) {
  const rows = [];
  const { subs, rpc, queue } = cases;
  if (subs) {
    const o = subs.ours;
    const j = subs.mqttjs;
    const memRatio = ratio(o.idleBytesPerSubscription.median, j.idleBytesPerSubscription.median);
    const subRatio = ratio(o.subscribeMs.median, j.subscribeMs.median);
    rows.push([
      `${SUBS.toLocaleString('en-US')} idle subscriptions, heap bytes each`,
      cell(o.idleBytesPerSubscription),
      cell(j.idleBytesPerSubscription),
      `${memRatio}×`,
      `≤ 3× ${memRatio <= 3 ? '✅' : '❌'}`,
    ]);
    rows.push([
      `${SUBS.toLocaleString('en-US')} subscribe() at once`,
      cell(o.subscribeMs, ' ms'),
      cell(j.subscribeMs, ' ms'),
      `${subRatio}×`,
      `≤ 1× ${subRatio <= 1 ? '✅' : '❌'}`,
    ]);
    rows.push([
      '… client CPU per subscribe()',
      cell(o.subscribeCpuUs, ' µs'),
      cell(j.subscribeCpuUs, ' µs'),
      `${ratio(o.subscribeCpuUs.median, j.subscribeCpuUs.median)}×`,
      '–',
    ]);
    rows.push([
      'then one message to each',
      cell(o.deliverOneEachMs, ' ms'),
      cell(j.deliverOneEachMs, ' ms'),
      `${ratio(o.deliverOneEachMs.median, j.deliverOneEachMs.median)}×`,
      '–',
    ]);
  }
  if (rpc) {
    rows.push([
      `${RPCS.toLocaleString('en-US')} concurrent requests, QoS 1`,
      cell(rpc.ours.ms, ' ms'),
      cell(rpc.mqttjs.ms, ' ms'),
      `${ratio(rpc.ours.ms.median, rpc.mqttjs.ms.median)}×`,
      '–',
    ]);
  }
  if (queue) {
    const j = queue.mqttjs;
    const theirs = j.ms ? cell(j.ms, ' ms') : `never: ${cell(j.settled)} settled`;
    rows.push([
      `${QUEUED.toLocaleString('en-US')} QoS 1 publishes at once`,
      cell(queue.ours.ms, ' ms'),
      theirs,
      '–',
      '–',
    ]);
  }
  return markdownTable(['case', 'ours (driver)', 'MQTT.js', 'ratio', 'target'], rows, ['l', 'r', 'r', 'r', 'l']);
}

async function main() {
  if (!hasMosquitto) {
    console.error('SKIPPED: bench:scale needs mosquitto');
    return;
  }
  const loadBefore = load();
  const cases = {};
  for (const name of Object.keys(CASES)) {
    if (!args.part(name)) continue;
    cases[name] = await alternate(['ours', 'mqttjs'], ROUNDS, (c) => runOnce(name, c), {
      onRound: (c, i, r) => console.error(`${name} round ${i + 1} ${c} ${JSON.stringify(r)}`),
    });
  }
  const printed = table(cases);
  console.log(`\n${printed}`);
  if (quick || args.only) return;
  writeResult(
    'scale',
    {
      benchmark: 'scale: the driver vs MQTT.js (MQTT 5) against mosquitto on loopback',
      unit: 'ms and MB; idleBytesPerSubscription = heap after GC held by the idle subscriptions, per subscription; subscribeCpuUs = client CPU µs per subscribe(); each figure { min, median, max } over rounds, raw rounds kept',
      rounds: ROUNDS,
      setup:
        "each case and contender in a fresh process against a fresh mosquitto; contenders rotate their order every round; the MQTT.js request contender uses the driver's correlation-data strategy (16 bytes from a random pool). subs: both issue the 10,000 subscribe() calls at once (Promise.all), one filter per call and per SUBSCRIBE, QoS 0 and no other options; differences: ours puts a Subscription Identifier on each SUBSCRIBE (its routing uses it), MQTT.js none; MQTT.js runs with reconnectPeriod: 0 (as ours with reconnect: false), so it keeps no per-filter resubscribe record (with its default reconnectPeriod it would); subscribeCpuUs = the client process's CPU per subscribe() during the same span as subscribeMs",
      table: printed,
      cases,
    },
    loadBefore,
  );
}

/** Child process: `--child <case> <contender> <url>` runs that case once. */
if (process.argv[2] === '--child') {
  const [, , , name, contender, url] = process.argv;
  serveCommands({ measure: () => CASES[name][contender](url) });
} else {
  await main();
  process.exit(0);
}
