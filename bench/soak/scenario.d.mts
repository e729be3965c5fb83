/** Types of scenario.mjs (plain JS so `npm run soak` runs it on dist/ without a loader). */
export interface SoakTransport {
  connect: unknown;
  ServerMqttAsync: unknown;
  ClientMqttAsync: unknown;
}
export interface SoakOptions {
  durationMs: number;
  /** Events per second per QoS (default 100). */
  rate?: number;
  /** Keep publishers out after a mosquitto restart until the shared group is back (default true). */
  gate?: boolean;
  /** Proxy cuts and mosquitto restarts (default true); false for a calm run. */
  faults?: boolean;
  /** The RPC handler's answer to `{ a, b }` (default `{ sum: a + b }`); may throw. */
  answer?: (data: { a: number; b: number }) => unknown;
  log?: (...parts: unknown[]) => void;
}
export interface SoakQos {
  qos: number;
  sent: number;
  acked: number;
  rejected: number;
  handled: number;
  lost: number;
  duplicated: number;
  lostAtMs: number[];
}
export interface SoakReport {
  durationS: number;
  ratePerQos: number;
  faults: { proxyCuts: number; mosquittoRestarts: number; restarts: unknown[]; gate: boolean; on: boolean };
  events: SoakQos[];
  rpc: { sent: number; ok: number; wrong: number; failed: Record<string, number> };
  unsettledPublishes: number;
  heapMB: { start: number; end: number; growthPercent: number; gc: boolean };
  targetsMet: boolean;
  missedTargets: string[];
}
export function runSoak(transport: SoakTransport, options: SoakOptions): Promise<SoakReport>;
