/**
 * The broker-restart fault scenario (issue 11), plain JS so that `npm run faults:restarts` runs it on dist/ and
 * test/faults/restarts.spec.ts runs a short slice of it on lib/ (the transport classes are passed in).
 *
 * A Nest microservice (ServerMqttAsync, DEFAULT reconnect options, persistent session) answers RPC and handles
 * QoS 1 events, while a ClientMqttAsync (default options, persistent session) keeps emitting events and sending
 * requests. The broker is stopped and started again `restarts` times with outages drawn from `outage` ms. Per
 * restart: the recovery time, from the broker being back to the first answer to a probe client (probes every 50 ms).
 * At the end: every QoS 1 event whose emit() resolved was handled (0 lost), no send()/emit() stayed unsettled
 * past its bound, the server never gave up (no closeCause, no exit code).
 */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A `@Controller()` class made without decorator syntax (this file is plain JS). */
function faultsModule(seen) {
  class FaultsController {
    echo(n) {
      return n;
    }
    event(data) {
      seen.set(data.n, (seen.get(data.n) ?? 0) + 1);
    }
  }
  const p = FaultsController.prototype;
  MessagePattern('faults/rpc')(p, 'echo', Object.getOwnPropertyDescriptor(p, 'echo'));
  EventPattern('faults/events', { qos: 1 })(p, 'event', Object.getOwnPropertyDescriptor(p, 'event'));
  Controller()(FaultsController);
  class FaultsModule {}
  Module({ controllers: [FaultsController] })(FaultsModule);
  return FaultsModule;
}

/**
 * @param {{ ServerMqttAsync: any, ClientMqttAsync: any }} transport
 * @param {{ url: string, restart(o: { downFor: number }): Promise<void> }} broker
 * @param {{ restarts: number, outage: [number, number], steadyMs?: number, eventEveryMs?: number,
 *   rpcEveryMs?: number, requestTimeout?: number, bound?: number, log?: (line: string) => void }} options
 */
export async function runRestarts(transport, broker, options) {
  const { restarts, outage, steadyMs = 1000, eventEveryMs = 10, rpcEveryMs = 50, requestTimeout } = options;
  // A send() is bounded by requestTimeout (library default 30 s); a few seconds more for the scheduling.
  const bound = options.bound ?? (requestTimeout ?? 30_000) + 5000;
  const log = options.log ?? (() => {});
  const session = (id) => ({ clientId: `faults-${id}-${process.pid}`, cleanStart: false, sessionExpiryInterval: 600 });
  const seen = new Map();
  const server = new transport.ServerMqttAsync({ url: broker.url, ...session('server') });
  const app = await NestFactory.createMicroservice(faultsModule(seen), { strategy: server, logger: false });
  await app.listen();
  const client = new transport.ClientMqttAsync({
    url: broker.url,
    ...session('client'),
    ...(requestTimeout !== undefined ? { requestTimeout } : {}),
  });
  const probe = new transport.ClientMqttAsync({ url: broker.url, requestTimeout: 1000 });
  await client.connect();
  await probe.connect();

  const events = { sent: 0, emitted: 0, emitFailed: {} };
  const rpc = { sent: 0, ok: 0, wrong: 0, failed: {} };
  const pending = new Set();
  /** Tracks one send()/emit() promise: it must settle within `bound` ms. */
  const track = (promise, onOk, onErr) => {
    const startedAt = Date.now();
    const entry = { startedAt };
    pending.add(entry);
    promise.then(onOk, onErr).finally(() => pending.delete(entry));
  };
  const countError = (into, err) => {
    const name = err?.constructor?.name ?? 'Error';
    into[name] = (into[name] ?? 0) + 1;
  };
  const acked = new Set();
  let running = true;
  const emitter = (async () => {
    while (running) {
      const n = events.sent++;
      track(
        firstValueFrom(client.emit('faults/events', { n })),
        () => acked.add(n),
        (err) => countError(events.emitFailed, err),
      );
      await sleep(eventEveryMs);
    }
  })();
  const caller = (async () => {
    while (running) {
      const n = rpc.sent++;
      track(
        firstValueFrom(client.send('faults/rpc', n)),
        (reply) => (reply === n ? rpc.ok++ : rpc.wrong++),
        (err) => countError(rpc.failed, err),
      );
      await sleep(rpcEveryMs);
    }
  })();
  const overdue = () => [...pending].filter((e) => Date.now() - e.startedAt > bound).length;

  const perRestart = [];
  let exited = false;
  const onExit = () => {
    exited = true;
  };
  process.on('exit', onExit);
  try {
    await sleep(steadyMs);
    for (let i = 0; i < restarts; i++) {
      const downFor = Math.round(outage[0] + Math.random() * (outage[1] - outage[0]));
      await broker.restart({ downFor });
      const upAt = Date.now();
      // A probe request every 50 ms (each waits up to 1 s): the first answer marks the recovery, to within 50 ms.
      let recoveryMs;
      const probes = [];
      while (recoveryMs === undefined && Date.now() - upAt < bound) {
        probes.push(
          firstValueFrom(probe.send('faults/rpc', -1)).then(
            (r) => {
              if (r === -1 && recoveryMs === undefined) recoveryMs = Date.now() - upAt;
            },
            () => undefined,
          ),
        );
        await sleep(50);
      }
      await Promise.all(probes);
      perRestart.push({ downFor, recoveryMs: recoveryMs ?? null });
      log(`restart ${i + 1}/${restarts}: down ${downFor} ms, answered again after ${recoveryMs ?? 'NEVER'} ms`);
      await sleep(steadyMs);
    }
  } finally {
    running = false;
    await Promise.all([emitter, caller]);
  }
  // Drain: every send()/emit() settles, every acknowledged event is handled.
  const deadline = Date.now() + bound;
  while ((pending.size > 0 || [...acked].some((n) => !seen.has(n))) && Date.now() < deadline) await sleep(50);
  const overdueAtEnd = overdue();
  const lost = [...acked].filter((n) => !seen.has(n));
  const duplicates = [...seen.values()].filter((c) => c > 1).length;
  events.emitted = acked.size;
  const recoveries = perRestart
    .map((r) => r.recoveryMs)
    .filter((v) => v !== null)
    .sort((a, b) => a - b);
  const result = {
    restarts: perRestart,
    recovery: {
      p50: percentile(recoveries, 50),
      max: recoveries.at(-1),
      recovered: recoveries.length,
    },
    events: { ...events, handled: seen.size, lost: lost.length, lostExamples: lost.slice(0, 10), duplicates },
    rpc,
    /** send()/emit() calls that had not settled `bound` ms after they were made. */
    unsettledPastBound: Math.max(overdueAtEnd, pending.size),
    serverGaveUp: server.closeCause ? String(server.closeCause.message) : null,
    exitCode: process.exitCode ?? null,
    exited,
  };
  process.off('exit', onExit);
  await probe.close();
  await client.close();
  await app.close();
  return result;
}
