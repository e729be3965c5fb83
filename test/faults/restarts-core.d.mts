/** Types of restarts-core.mjs (plain JS so bench/faults-restarts.mjs can run it on dist/ without a loader). */
export interface RestartsTransport {
  ServerMqttAsync: unknown;
  ClientMqttAsync: unknown;
}
export interface RestartsBroker {
  url: string;
  restart(options: { downFor: number }): Promise<void>;
}
export interface RestartsOptions {
  restarts: number;
  /** Outage length range in ms, drawn uniformly per restart. */
  outage: [number, number];
  steadyMs?: number;
  eventEveryMs?: number;
  rpcEveryMs?: number;
  /** requestTimeout of the client (default: the library's). */
  requestTimeout?: number;
  /** ms within which every send()/emit() must settle and the service must answer after a restart. */
  bound?: number;
  log?: (line: string) => void;
}
export interface RestartsResult {
  restarts: Array<{ downFor: number; recoveryMs: number | null }>;
  recovery: { p50: number | undefined; max: number | undefined; recovered: number };
  events: {
    sent: number;
    emitted: number;
    emitFailed: Record<string, number>;
    handled: number;
    lost: number;
    lostExamples: number[];
    duplicates: number;
  };
  rpc: { sent: number; ok: number; wrong: number; failed: Record<string, number> };
  unsettledPastBound: number;
  serverGaveUp: string | null;
  exitCode: number | string | null;
  exited: boolean;
}
export function runRestarts(
  transport: RestartsTransport,
  broker: RestartsBroker,
  options: RestartsOptions,
): Promise<RestartsResult>;
