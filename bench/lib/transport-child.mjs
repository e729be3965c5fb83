/**
 * One side of one transport benchmark case, in its own process, driven by bench/transport.bench.mjs through
 * `serveCommands` (bench/lib/runner.mjs). Arguments: `<role> <case> <contender> <url>`.
 *  role 'server' (rpc, latency): setup → cpuStart → cpuStop (CPU µs spent in between) → stop
 *  role 'client' (rpc, latency): setup → warm → measure { callers, total } → stop
 *  role 'solo'   (drain): setup → measure { n, round } → stop
 *  role 'server' (events): setup (→ topic) → expect { n } → done (wall clock, CPU µs since expect) → stop
 *  role 'client' (events): setup { topic } → emit { n } (start wall clock, CPU µs) → stop
 */
import { serveCommands, windowProfiler } from './runner.mjs';
import {
  callers,
  cpuSince,
  drainRound,
  eventsEmitter,
  eventsServer,
  rpcClient,
  rpcServer,
} from './transport-cases.mjs';

const [role, kind, contender, url] = process.argv.slice(2);
// 'ours-sdk': the app registered the OpenTelemetry SDK before creating its transport (both processes).
const sdk = contender === 'ours-sdk' ? (await import('./otel-sdk.mjs')).registerOtelSdk() : undefined;
/** A telemetry contender whose SDK got no spans measured nothing: fail the round instead. */
const checkSpans = () => {
  if (sdk && sdk.exported === 0) throw new Error('ours-sdk: the SDK exported no spans');
};

let side;
let cpu0;
const profiler = await windowProfiler();
const profileName = `${role}-${kind}-${contender}-${process.pid}`;

const handlers = {
  server: {
    setup: async () => {
      side = await rpcServer(url, contender);
    },
    cpuStart: async () => {
      globalThis.gc?.();
      await profiler.start();
      cpu0 = process.cpuUsage();
    },
    cpuStop: async () => {
      const cpuUs = cpuSince(cpu0);
      await profiler.stop(profileName);
      checkSpans();
      return { cpuUs };
    },
    stop: () => side?.stop(),
  },
  client: {
    setup: async () => {
      side = await rpcClient(url, contender);
    },
    // warm-up (and the built-in's reply subscription): JIT, pools, broker session state
    warm: ({ callers: count, total }) => callers(count, total, side.call).then(() => undefined),
    measure: async ({ callers: count, total }) => {
      globalThis.gc?.();
      await profiler.start();
      const result = await callers(count, total, side.call);
      await profiler.stop(profileName);
      checkSpans();
      return result;
    },
    stop: () => side?.stop(),
  },
  solo: {
    setup: async () => {},
    measure: async ({ n, round }) => {
      await profiler.start();
      const result = await drainRound(url, contender, round, n);
      await profiler.stop(profileName);
      return result;
    },
    stop: () => side?.stop(),
  },
  eventsServer: {
    setup: async () => {
      side = await eventsServer(url, contender);
      return { topic: side.topic };
    },
    expect: async ({ n, profile }) => {
      if (profile) await profiler.start();
      side.expect(n);
    },
    done: async ({ profile }) => {
      const result = await side.done();
      if (profile) await profiler.stop(profileName);
      return result;
    },
    stop: () => side?.stop(),
  },
  eventsClient: {
    setup: async ({ topic }) => {
      side = await eventsEmitter(url, contender, topic);
    },
    emit: async ({ n, profile }) => {
      if (profile) await profiler.start();
      const result = await side.emit(n);
      if (profile) await profiler.stop(profileName);
      return result;
    },
    stop: () => side?.stop(),
  },
}[kind === 'events' ? `events${role[0].toUpperCase()}${role.slice(1)}` : role];

if (!handlers) throw new Error(`unknown role ${role}`);
serveCommands(handlers);
