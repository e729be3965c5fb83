/**
 * The three transport benchmark cases, each run for one contender ('ours' or 'builtin') and returning its figures.
 *  drain:  N QoS 1 messages queued for an offline persistent session, drained into an @EventPattern handler
 *  rpc:    ClientProxy.send() → @MessagePattern with CALLERS concurrent callers (rate, p50, p99 latency)
 *  events: ClientProxy.emit() at QoS 1 from the same process → @EventPattern, handled/s at the server
 */
import { firstValueFrom, timeout } from 'rxjs';
import { connect } from '../../dist/driver/index.js';
import {
  Counter,
  createClient,
  createEventApp,
  createRpcApp,
  holdReplySubscription,
  qos1Event,
} from './transport-apps.mjs';

export const CALLERS = 100;
/** The JSON body every case sends (about 60 bytes on the wire as the payload). */
export const body = (seq) => ({ seq, device: 'sensor-0001', temperature: 21.5, ok: true });
const PAYLOAD = JSON.stringify(body(0));

const now = () => performance.now();
/** CPU microseconds (user + system) this process spent since `since` (a process.cpuUsage() value), per op. */
const cpuPerOp = (since, ops) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / ops;
};

/** Protocol each contender speaks: ours MQTT 5; the built-in its default (MQTT.js default, 3.1.1). */
export const PROTOCOL = { ours: 5, 'ours-qos0': 5, builtin: 4 };

// ---------- drain ----------

/** Creates `clientId`'s persistent session subscribed to `topic` (QoS 1), then queues `n` QoS 1 messages for it. */
async function queueFor(url, contender, clientId, topic, n) {
  const protocolVersion = PROTOCOL[contender];
  const persistent = protocolVersion === 5 ? { sessionExpiryInterval: 3600 } : {};
  const session = await connect(url, { protocolVersion, clientId, cleanStart: false, ...persistent });
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

/** One drain round: messages/s from `listen()` until the handler saw all `n`. */
export async function drainRound(url, contender, round, n) {
  const clientId = `bench-drain-${contender}-${round}-${process.pid}`;
  const topic = `bench/drain/${contender}/${round}`;
  await queueFor(url, contender, clientId, topic, n);
  const counter = new Counter();
  const app = await createEventApp(contender, url, topic, counter, { clientId });
  const done = counter.until(n);
  const cpu0 = process.cpuUsage();
  const t0 = now();
  await app.listen();
  await done;
  const ms = now() - t0;
  const cpuUs = cpuPerOp(cpu0, n);
  await app.close();
  return { rate: (n * 1000) / ms, cpuUs };
}

// ---------- rpc ----------

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** Milliseconds a call may take before it counts as failed (the built-in ClientMqtt has no reply timeout). */
const CALL_TIMEOUT = 5_000;

/** `total` calls from CALLERS concurrent callers; failed (or timed-out) calls are counted, not timed. */
async function callers(total, call) {
  const latencies = [];
  let issued = 0;
  let failed = 0;
  const worker = async () => {
    while (issued < total) {
      const i = issued++;
      const t = now();
      try {
        await call(i);
        latencies.push(now() - t);
      } catch {
        failed++;
      }
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = now();
  await Promise.all(Array.from({ length: CALLERS }, worker));
  const ms = now() - t0;
  const cpuUs = cpuPerOp(cpu0, total);
  latencies.sort((a, b) => a - b);
  return {
    rate: ((total - failed) * 1000) / ms,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failed,
    cpuUs,
  };
}

/** Starts the RPC app and a client; returns `round(total)` and `stop()`. */
export async function rpcSetup(url, contender) {
  const topic = `bench/rpc/${contender}`;
  const app = await createRpcApp(contender, url, topic);
  await app.listen();
  const client = await createClient(contender, url);
  const hold = contender === 'builtin' ? holdReplySubscription(client, topic) : undefined;
  const call = async (i) => {
    const reply = await firstValueFrom(client.send(topic, body(i)).pipe(timeout(CALL_TIMEOUT)));
    if (reply?.seq !== i) throw new Error(`${contender}: reply ${JSON.stringify(reply)} does not match request ${i}`);
  };
  await callers(Math.min(500, CALLERS * 5), call); // warm-up (and the built-in's reply subscription)
  return {
    round: (total) => callers(total, call),
    stop: async () => {
      hold?.unsubscribe();
      await client.close();
      await app.close();
    },
  };
}

// ---------- events ----------

/** Emits not yet confirmed by the broker that the publisher allows, like an application that awaits its emits. */
export const EMIT_WINDOW = Number(process.env.BENCH_EMIT_WINDOW ?? 1_000);

/** Calls `emit(i)` for i < n with at most EMIT_WINDOW unconfirmed; resolves when all were issued. */
function emitWindowed(n, emit) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let outstanding = 0;
    const pump = () => {
      while (outstanding < EMIT_WINDOW && issued < n) {
        outstanding++;
        emit(issued++).subscribe({
          error: reject,
          complete: () => {
            outstanding--;
            pump();
          },
        });
      }
      if (issued === n) resolve();
    };
    pump();
  });
}

/** Starts the event app and a client; returns `round(n)` (handled/s) and `stop()`. */
export async function eventsSetup(url, contender) {
  const topic = `bench/events/${contender}`;
  const counter = new Counter();
  const app = await createEventApp(contender, url, topic, counter);
  await app.listen();
  const client = await createClient(contender, url);
  const emitAll = async (n) => {
    counter.reset();
    const done = counter.until(n);
    const cpu0 = process.cpuUsage();
    const t0 = now();
    await emitWindowed(n, (i) => client.emit(topic, qos1Event(contender, body(i))));
    await done;
    return { rate: (n * 1000) / (now() - t0), cpuUs: cpuPerOp(cpu0, n) };
  };
  await emitAll(1_000); // warm-up
  return {
    round: emitAll,
    stop: async () => {
      await client.close();
      await app.close();
    },
  };
}
