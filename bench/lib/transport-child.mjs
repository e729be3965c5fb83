/**
 * One side of one transport benchmark case, in its own process, driven by bench/transport.bench.mjs through
 * `serveCommands` (bench/lib/runner.mjs). Arguments: `<role> <case> <contender> <url>`.
 *  role 'server' (rpc, latency): setup → cpuStart → cpuStop (CPU µs spent in between) → stop
 *  role 'client' (rpc, latency): setup → warm → measure { callers, total } → stop
 *  role 'solo'   (drain, events): setup → measure { n, round } → stop
 */
import { serveCommands, windowProfiler } from './runner.mjs';
import { callers, cpuSince, drainRound, eventsSetup, rpcClient, rpcServer } from './transport-cases.mjs';

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
    setup: async () => {
      if (kind === 'events') side = await eventsSetup(url, contender);
    },
    measure: async ({ n, round }) => {
      await profiler.start();
      const result = await (kind === 'drain' ? drainRound(url, contender, round, n) : side.round(n));
      await profiler.stop(profileName);
      return result;
    },
    stop: () => side?.stop(),
  },
}[role];

if (!handlers) throw new Error(`unknown role ${role}`);
serveCommands(handlers);
