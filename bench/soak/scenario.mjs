/**
 * The soak scenario (plain JS so `npm run soak` runs it on dist/ and test/faults/soak.spec.ts runs a short slice
 * of it on lib/; the transport is passed in). A Nest app of two ServerMqttAsync instances (one shared group for
 * events at QoS 0/1/2 and one for RPC) plus a driver publisher and a ClientMqttAsync RPC caller, all on a private
 * mosquitto with persistence behind proxies that cut connections at random while mosquitto is restarted at
 * random. Resolves with the report; bench/soak/verdict.mjs says whether it meets the targets.
 */
import 'reflect-metadata';
import v8 from 'node:v8';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { mb, memoryAfterGc } from '../lib/memory.mjs';
import { startMosquitto } from '../lib/mosquitto.mjs';
import { startCutProxy } from './infra.mjs';
import { soakVerdict } from './verdict.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The RPC handler's answer: the sum asked for. */
const add = (data) => ({ sum: data.a + data.b });

export async function runSoak(transport, options) {
  const { connect, ServerMqttAsync, ClientMqttAsync } = transport;
  const { durationMs, rate = 100, gate = true, faults = true, answer = add } = options;
  const t0 = performance.now();
  const log = (...a) => (options.log ?? console.error)(`[soak ${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);

  // Fixed-size counters, allocated before the first heap sample so the bookkeeping does not count as growth.
  const capacity = Math.ceil((durationMs / 1000 + 5) * rate * 1.2) + 1000;
  const stats = [0, 1, 2].map(() => ({
    next: 0,
    acked: new Uint8Array(capacity),
    handled: new Uint8Array(capacity),
    /** ms since start at which each message was published: locates losses relative to the faults. */
    at: new Float64Array(capacity),
    rejected: 0,
  }));
  const rpc = { sent: 0, ok: 0, wrong: 0, failed: {} };
  const reconnect = { initialDelay: 50, maxDelay: 2000, maxAttempts: Number.POSITIVE_INFINITY };
  // cleanStart false from the first connect: mosquitto 2.0 does not persist a session begun with clean start.
  const common = { protocolVersion: 5, keepalive: 5, cleanStart: false, sessionExpiryInterval: 3600, reconnect };
  const runId = Math.random().toString(36).slice(2, 8);

  let probeSeen = -1;
  function onEvent(data) {
    if (data.probe !== undefined) {
      probeSeen = Math.max(probeSeen, data.probe);
      return;
    }
    const s = stats[data.q];
    if (data.seq < capacity && s.handled[data.seq] < 255) s.handled[data.seq]++;
  }

  async function startServer(url, clientId) {
    class SoakController {
      event(data) {
        onEvent(data);
      }
      add(data) {
        return answer(data);
      }
    }
    const proto = SoakController.prototype;
    /** @param {string} k @returns {PropertyDescriptor} the method's (it exists: defined above) */
    const descriptor = (k) => /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(proto, k));
    EventPattern('soak/events/+', { shared: 'soak-events', qos: 2, concurrency: 4 })(
      proto,
      'event',
      descriptor('event'),
    );
    MessagePattern('soak/rpc/add', { shared: 'soak-rpc', qos: 1, concurrency: 4 })(proto, 'add', descriptor('add'));
    Controller()(SoakController);
    class SoakModule {}
    Module({ controllers: [SoakController] })(SoakModule);
    const strategy = new ServerMqttAsync({ url, clientId, ...common });
    if (process.env.SOAK_DEBUG) {
      strategy.on('connect', (e) => log(`${clientId} connected, sessionPresent ${e.sessionPresent}`));
      strategy.on('disconnect', (e) => log(`${clientId} disconnected`, e.reasonCode ?? '', e.error?.message ?? ''));
      strategy.on('error', (e) => log(`${clientId} error`, e.message));
    }
    const app = await NestFactory.createMicroservice(SoakModule, { strategy, logger: false });
    await app.listen();
    return app;
  }

  function heapAfterGc(label) {
    const { heapUsed } = memoryAfterGc();
    if (process.env.SOAK_HEAPSNAPSHOT) log(`heap snapshot ${v8.writeHeapSnapshot(`/tmp/soak-${label}.heapsnapshot`)}`);
    return heapUsed;
  }

  const broker = await startMosquitto({ persistent: true, nodelay: false });
  // Servers and clients reach mosquitto through separate cutting proxies, so the clients' one can be held.
  const serverProxy = await startCutProxy(broker.port);
  const clientProxy = await startCutProxy(broker.port);
  const servers = [
    await startServer(serverProxy.url, `soak-a-${runId}`),
    await startServer(serverProxy.url, `soak-b-${runId}`),
  ];
  const publisher = await connect(clientProxy.url, { clientId: `soak-pub-${runId}`, ...common });
  // requestQos 1: the setting for requests that must survive reconnects (the handler is idempotent). At the default
  // QoS 0 a cut loses the requests and replies in flight (at most once), and the caller's send() times out.
  const rpcClient = new ClientMqttAsync({
    url: clientProxy.url,
    clientId: `soak-rpc-${runId}`,
    requestTimeout: 30_000,
    requestQos: 1,
    ...common,
  });
  await rpcClient.connect();
  // Talks to mosquitto directly: after a restart it checks that the shared group is subscribed again.
  const prober = await connect(`mqtt://127.0.0.1:${broker.port}`, {
    ...common,
    cleanStart: true,
    sessionExpiryInterval: 0,
  });
  log(`mosquitto on ${broker.port}, ${rate} events/s per QoS, duration ${durationMs / 1000}s, gate ${gate}`);

  /**
   * mosquitto 2.0 restores sessions from persistence WITHOUT their shared subscriptions: until a group member has
   * re-subscribed, a message for the group has no subscriber and the broker drops it (MQTT semantics, not a client
   * fault). With the gate on, publishers are kept out after a restart until a probe reaches the group.
   */
  async function waitForGroup() {
    const deadline = performance.now() + 30_000;
    for (let probe = probeSeen + 1; performance.now() < deadline; probe++) {
      await prober.publish('soak/events/probe', JSON.stringify({ probe }), { qos: 1 }).catch(() => undefined);
      await sleep(100);
      if (probeSeen >= probe) return true;
    }
    return false;
  }

  const pending = new Set();
  let publishing = true;
  function publishTick() {
    if (!publishing || pending.size > 20 * rate) return;
    for (const q of [0, 1, 2]) {
      for (let i = 0; i < Math.max(1, rate / 50); i++) {
        const s = stats[q];
        if (s.next >= capacity) return;
        const seq = s.next++;
        s.at[seq] = performance.now() - t0;
        const p = publisher.publish(`soak/events/${q}`, JSON.stringify({ q, seq }), { qos: q }).then(
          () => {
            s.acked[seq] = 1;
          },
          () => {
            s.rejected++;
          },
        );
        pending.add(p);
        p.finally(() => pending.delete(p));
      }
    }
  }

  async function rpcLoop() {
    while (publishing) {
      const a = Math.floor(Math.random() * 1000);
      const b = Math.floor(Math.random() * 1000);
      rpc.sent++;
      try {
        const reply = await lastValueFrom(rpcClient.send('soak/rpc/add', { a, b }));
        if (reply?.sum === a + b) rpc.ok++;
        else rpc.wrong++;
      } catch (/** @type {any} */ err) {
        // An error reply is a plain object ({ status, message }), a transport failure an Error subclass.
        const name = err?.name ?? (typeof err?.message === 'string' ? 'error reply' : 'Error');
        rpc.failed[name] = (rpc.failed[name] ?? 0) + 1;
      }
    }
  }

  let faulting = faults;
  /** Sleeps up to `ms`, waking early once the faults are stopped. */
  async function faultPause(ms) {
    const until = performance.now() + ms;
    while (faulting && performance.now() < until) await sleep(Math.min(250, until - performance.now()));
  }
  const publishTimer = setInterval(publishTick, 20);
  const rpcLoops = Array.from({ length: 4 }, rpcLoop);
  const end = performance.now() + durationMs;
  // The start sample is taken after 5 s under load, once the hot paths are compiled (V8 code space is not a leak).
  await sleep(Math.min(5000, durationMs / 4));
  const heapStart = heapAfterGc('start');

  let restarts = 0;
  const restartTimes = [];
  const cutLoop = (async () => {
    while (faulting) {
      await faultPause(1000 + Math.random() * 3000);
      if (faulting) (Math.random() < 0.5 ? serverProxy : clientProxy).cutRandom();
    }
  })();
  const restartLoop = (async () => {
    while (faulting) {
      await faultPause(10_000 + Math.random() * 15_000);
      if (!faulting) break;
      restarts++;
      log(`restarting mosquitto (#${restarts})`);
      const down = performance.now() - t0;
      if (gate) clientProxy.hold();
      await broker.restart();
      const up = performance.now() - t0;
      if (gate) {
        if (!(await waitForGroup())) log('the shared group did not re-subscribe within 30 s');
        clientProxy.release();
      }
      restartTimes.push({
        downMs: Math.round(down),
        upMs: Math.round(up),
        gateOpenMs: Math.round(performance.now() - t0),
      });
    }
  })();

  while (performance.now() < end) {
    await sleep(Math.min(10_000, end - performance.now()));
    log(
      `sent ${stats.map((s) => s.next).join('/')} cuts ${serverProxy.cuts + clientProxy.cuts} restarts ${restarts} rpc ${rpc.ok}/${rpc.sent}`,
    );
  }
  faulting = false;
  publishing = false;
  clearInterval(publishTimer);
  await Promise.all([cutLoop, restartLoop]);
  log('faults stopped; draining');

  const missing = (q) => {
    let n = 0;
    for (let i = 0; i < stats[q].next; i++) if (stats[q].acked[i] && !stats[q].handled[i]) n++;
    return n;
  };
  const drainDeadline = performance.now() + 60_000;
  while (performance.now() < drainDeadline && (pending.size > 0 || missing(1) + missing(2) > 0)) await sleep(500);
  await Promise.all(rpcLoops);
  const unsettled = pending.size;
  const heapEnd = heapAfterGc('end');

  const perQos = stats.map((s, q) => {
    let acked = 0;
    let handled = 0;
    let lost = 0;
    let duplicated = 0;
    const lostAtMs = [];
    for (let i = 0; i < s.next; i++) {
      if (s.acked[i] && !s.handled[i] && lostAtMs.length < 20) lostAtMs.push(Math.round(s.at[i]));
      acked += s.acked[i];
      if (s.handled[i]) handled++;
      if (s.handled[i] > 1) duplicated += s.handled[i] - 1;
      if (s.acked[i] && !s.handled[i]) lost++;
    }
    return { qos: q, sent: s.next, acked, rejected: s.rejected, handled, lost, duplicated, lostAtMs };
  });
  const report = {
    durationS: durationMs / 1000,
    ratePerQos: rate,
    faults: {
      proxyCuts: serverProxy.cuts + clientProxy.cuts,
      mosquittoRestarts: restarts,
      restarts: restartTimes,
      gate,
      on: faults,
    },
    events: perQos,
    rpc,
    unsettledPublishes: unsettled,
    heapMB: {
      start: mb(heapStart),
      end: mb(heapEnd),
      growthPercent: Math.round(((heapEnd - heapStart) / heapStart) * 1000) / 10,
      gc: Boolean(global.gc),
    },
  };
  const verdict = soakVerdict(report);
  report.targetsMet = verdict.met;
  report.missedTargets = verdict.missed;

  await rpcClient.close();
  await publisher.disconnect();
  for (const app of servers) await app.close();
  await prober.disconnect();
  await serverProxy.stop();
  await clientProxy.stop();
  await broker.stop();
  return report;
}
