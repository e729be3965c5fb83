/**
 * The transport benchmark cases, run in child processes (bench/lib/transport-child.mjs) one contender at a time:
 *  drain:   N QoS 1 messages queued for an offline persistent session, drained into an @EventPattern handler
 *  rpc:     ClientProxy.send() → @MessagePattern with `callers` concurrent callers (rate, p50, p99 latency);
 *           the server (app) and the client run in two processes, so each side's CPU per round trip is measured
 *  latency: the same with one caller, sequential calls
 *  events:  ClientProxy.emit() at QoS 1 (emitter process) → @EventPattern (server process), handled/s at the
 *           server; CPU per event of the emitter, the server and the broker
 * Contenders: 'ours' (ServerMqttAsync / ClientMqttAsync at their defaults), 'ours-qos1' (requestQos: 1),
 * 'builtin' (Transport.MQTT at its defaults), 'driver' (our driver's request() against a raw driver responder;
 * for events: the driver's publish() into a raw driver subscriber).
 */
import { readFileSync } from 'node:fs';
import { firstValueFrom, lastValueFrom, timeout } from 'rxjs';
import {
  Counter,
  createClient,
  createEventApp,
  createRpcApp,
  holdReplySubscription,
  qos1Event,
} from './transport-apps.mjs';
import { distUrl } from './transport-dist.mjs';

const { connect } = await import(distUrl('driver/index.js'));

/** The JSON body every case sends (about 60 bytes on the wire as the payload). */
export const body = (seq) => ({ seq, device: 'sensor-0001', temperature: 21.5, ok: true });
const PAYLOAD = JSON.stringify(body(0));

const now = () => performance.now();
/** CPU microseconds (user + system) this process spent since `since` (a process.cpuUsage() value). */
export const cpuSince = (since) => {
  const { user, system } = process.cpuUsage(since);
  return user + system;
};

/** Protocol each contender speaks: ours MQTT 5; the built-in its default (MQTT.js default, 3.1.1). */
export const PROTOCOL = { ours: 5, 'ours-qos1': 5, 'ours-notel': 5, 'ours-sdk': 5, driver: 5, builtin: 4 };

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
  const topic = `bench/drain/${contender}/${round}/${process.pid}`;
  await queueFor(url, contender, clientId, topic, n);
  const counter = new Counter();
  const app = await createEventApp(contender, url, topic, counter, { clientId });
  const done = counter.until(n);
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = now();
  await app.listen();
  await done;
  const elapsed = now() - t0;
  const cpuUs = cpuSince(cpu0) / n;
  await app.close();
  return { rate: (n * 1000) / elapsed, cpuUs };
}

// ---------- rpc / latency ----------

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** Milliseconds a call may take before it counts as failed (the built-in ClientMqtt has no reply timeout). */
const CALL_TIMEOUT = 5_000;

/** `total` calls from `callers` concurrent callers; failed (or timed-out) calls are counted, not timed. */
export async function callers(count, total, call) {
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
  await Promise.all(Array.from({ length: count }, worker));
  const elapsed = now() - t0;
  const cpuUs = cpuSince(cpu0) / total;
  latencies.sort((a, b) => a - b);
  return {
    rate: ((total - failed) * 1000) / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failed,
    clientCpuUs: cpuUs,
  };
}

/** The RPC server side: a Nest app, or for 'driver' a raw driver responder (payload echoed, no JSON). */
export async function rpcServer(url, contender) {
  const topic = `bench/rpc/${contender}`;
  if (contender === 'driver') {
    const server = await connect(url, { reconnect: false });
    const sub = await server.subscribe(topic, { qos: 1 });
    void (async () => {
      for await (const m of sub) {
        const { responseTopic, correlationData } = m.properties;
        server
          .publish(/** @type {string} */ (responseTopic), m.payload, { qos: m.qos, properties: { correlationData } })
          .catch(() => {});
      }
    })();
    return { stop: () => server.disconnect() };
  }
  const app = await createRpcApp(contender, url, topic);
  await app.listen();
  return { stop: () => app.close() };
}

/** The RPC client side; `call(i)` is one round trip (checked), `stop()` disconnects. */
export async function rpcClient(url, contender) {
  const topic = `bench/rpc/${contender}`;
  if (contender === 'driver') {
    const client = await connect(url, { reconnect: false });
    // the same request QoS as ClientMqttAsync's default
    const call = () => client.request(topic, PAYLOAD, { qos: 0, timeout: CALL_TIMEOUT });
    return { call, stop: () => client.disconnect() };
  }
  const client = await createClient(contender, url);
  const hold = contender === 'builtin' ? holdReplySubscription(client, topic) : undefined;
  const call = async (i) => {
    const reply = await firstValueFrom(client.send(topic, body(i)).pipe(timeout(CALL_TIMEOUT)));
    if (reply?.seq !== i) throw new Error(`${contender}: reply ${JSON.stringify(reply)} does not match request ${i}`);
  };
  return {
    call,
    stop: async () => {
      hold?.unsubscribe();
      await client.close();
    },
  };
}

// ---------- events ----------

/** Emits not yet confirmed by the broker that the publisher allows, like an application that awaits its emits. */
export const EMIT_WINDOW = Number(process.env.BENCH_EMIT_WINDOW ?? 1_000);

/** This process's read and write system calls so far (Linux /proc/self/io; zeros elsewhere). */
export function syscalls() {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const field = (name) => Number(new RegExp(`${name}: (\\d+)`).exec(io)?.[1] ?? 0);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return { reads: 0, writes: 0 };
  }
}

/** Wall-clock milliseconds comparable between the bench's processes (high resolution). */
export const wallMs = () => performance.timeOrigin + performance.now();

/**
 * Calls `emit(i)` (a Promise) for i < n with at most EMIT_WINDOW unconfirmed; resolves when every emit was
 * confirmed by the broker.
 * @returns {Promise<void>}
 */
function emitWindowed(n, emit) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let outstanding = 0;
    const confirmed = () => {
      outstanding--;
      if (issued === n && outstanding === 0) resolve();
      else pump();
    };
    const pump = () => {
      while (outstanding < EMIT_WINDOW && issued < n) {
        outstanding++;
        emit(issued++).then(confirmed, reject);
      }
    };
    if (n === 0) resolve();
    else pump();
  });
}

/**
 * The events receiver, in its own process: a Nest app with one @EventPattern handler counting events, or for
 * 'driver' a raw driver subscriber at the same QoS that JSON-decodes each payload and counts it (no Nest: the
 * floor of any Nest path on our driver). `expect(n)` arms the count and starts the CPU clock; `done()` resolves
 * when n events were handled, with the wall-clock time and the CPU µs spent since `expect`.
 */
export async function eventsServer(url, contender) {
  const topic = `bench/events/${contender}/${process.pid}`;
  const counter = new Counter();
  let stop;
  if (contender === 'driver') {
    const client = await connect(url, { reconnect: false });
    const sub = await client.subscribe(topic, { qos: 1 });
    void (async () => {
      for await (const m of sub) {
        JSON.parse(m.payload.toString());
        counter.hit();
      }
    })();
    stop = () => client.disconnect();
  } else {
    const app = await createEventApp(contender, url, topic, counter);
    await app.listen();
    stop = () => app.close();
  }
  let done;
  let cpu0;
  let io0;
  let n0;
  return {
    topic,
    expect: (n) => {
      counter.reset();
      done = counter.until(n);
      n0 = n;
      globalThis.gc?.();
      io0 = syscalls();
      cpu0 = process.cpuUsage();
    },
    done: async () => {
      await done;
      const cpuUs = cpuSince(cpu0);
      const io = syscalls();
      return {
        at: wallMs(),
        cpuUs,
        readsPerEvent: (io.reads - io0.reads) / n0,
        writesPerEvent: (io.writes - io0.writes) / n0,
      };
    },
    stop,
  };
}

/**
 * The events emitter, in its own process: ClientProxy.emit() at QoS 1 (ours: ClientMqttAsync's default QoS;
 * built-in: an MqttRecord with QoS 1), or for 'driver' the driver's publish() at QoS 1 of the JSON body.
 * `emit(n)` returns when every emit was confirmed: its start (wall clock) and the CPU µs it took.
 */
export async function eventsEmitter(url, contender, topic) {
  let one;
  let stop;
  if (contender === 'driver') {
    const client = await connect(url, { reconnect: false });
    one = (i) => client.publish(topic, JSON.stringify(body(i)), { qos: 1 });
    stop = () => client.disconnect();
  } else {
    const client = await createClient(contender, url);
    one = (i) => lastValueFrom(client.emit(topic, qos1Event(contender, body(i))), { defaultValue: undefined });
    stop = () => client.close();
  }
  return {
    emit: async (n) => {
      globalThis.gc?.();
      const cpu0 = process.cpuUsage();
      const t0 = wallMs();
      await emitWindowed(n, one);
      return { t0, cpuUs: cpuSince(cpu0) };
    },
    stop,
  };
}
