/**
 * `npm run faults:restarts [-- --restarts=10 --min=500 --max=3000]`: the broker-restart fault suite (issue 11) on
 * dist/. A Nest microservice and a ClientMqttAsync with DEFAULT reconnect options (persistent sessions) exchange
 * RPC and QoS 1 events while a private mosquitto (persistence on) is stopped and started again `restarts` times
 * with outages of min–max ms. Writes bench/results/faults.json: per restart the outage and the recovery time
 * (broker back → first answered request), p50/max, events sent/handled/lost/duplicated, RPC outcomes, calls
 * unsettled past their bound. Exit 1 when the service did not answer after a restart, an acknowledged QoS 1
 * event was lost, a call stayed unsettled, or the server gave up. The scenario: test/faults/restarts-core.mjs.
 */
import os from 'node:os';
import { ClientMqttAsync, ServerMqttAsync } from '../dist/nest/index.js';
import { runRestarts } from '../test/faults/restarts-core.mjs';
import { options } from './lib/args.mjs';
import { MOSQUITTO_BIN, startMosquitto } from './lib/mosquitto.mjs';
import { writeResultFile } from './lib/results.mjs';

const args = options();
const restarts = args.number('restarts', 10);
/** @type {[number, number]} */
const outage = [args.number('min', 500), args.number('max', 3000)];
const t0 = performance.now();
/** @param {string} line */
const log = (line) => console.error(`[faults ${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`);

if (!MOSQUITTO_BIN) {
  console.error('FAILED: the fault suite needs mosquitto (apt-get install mosquitto)');
  process.exit(1);
}

const mosquitto = await startMosquitto({ persistent: true, nodelay: false });
let result;
try {
  const broker = {
    url: `mqtt://127.0.0.1:${mosquitto.port}`,
    restart: (/** @type {{ downFor?: number }} */ o) => mosquitto.restart(o),
  };
  result = await runRestarts({ ServerMqttAsync, ClientMqttAsync }, broker, { restarts, outage, steadyMs: 2000, log });
} finally {
  await mosquitto.stop();
}

const failures = [];
if (result.recovery.recovered !== restarts) failures.push('the service did not answer after every restart');
if (result.events.lost > 0) failures.push(`${result.events.lost} acknowledged QoS 1 event(s) lost`);
if (result.unsettledPastBound > 0) failures.push(`${result.unsettledPastBound} send()/emit() unsettled past bound`);
if (result.serverGaveUp) failures.push(`the server gave up: ${result.serverGaveUp}`);
const out = {
  note: 'Broker stop/start with default reconnect options; recovery = broker back → first answered request (ms)',
  env: { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Number(l.toFixed(2))) },
  setup: { restarts, outageMs: outage, eventsPerSecond: 100, requestsPerSecond: 20 },
  ...result,
  failures,
};
writeResultFile('faults', out);
log(
  `recovery p50 ${result.recovery.p50} ms, max ${result.recovery.max} ms; events ${result.events.emitted} acked, ` +
    `${result.events.lost} lost, ${result.events.duplicates} duplicated; rpc ${result.rpc.ok}/${result.rpc.sent} ok`,
);
if (failures.length > 0) {
  console.error(`FAILED: ${failures.join('; ')}`);
  process.exitCode = 1;
}
