/** Types of fuzz-core.mjs (plain JS so bench/fuzz.mjs can run it on dist/ without a loader). */
export interface FuzzDriver {
  connect: unknown;
  PacketDecoder: unknown;
  encodePacket: unknown;
  MqttError: unknown;
}
export interface FuzzExample {
  kind: string;
  [detail: string]: unknown;
}
export interface DecoderFuzzReport {
  inputs: number;
  packets: number;
  rejected: number;
  byReasonCode: Record<string, number>;
  findings: number;
  examples: FuzzExample[];
}
export interface ClientFuzzReport {
  inputs: number;
  clientErrors: number;
  findings: number;
  examples: FuzzExample[];
  counts: { delivered: number; published: number; publishRejected: number; pendingAtClose: number; reconnects: number };
}
export function fuzzDecoder(driver: FuzzDriver, options: { inputs: number; seed?: number }): DecoderFuzzReport;
export function fuzzClient(
  driver: FuzzDriver,
  options: { inputs: number; seed?: number; clients?: number },
): Promise<ClientFuzzReport>;
