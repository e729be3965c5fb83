import type { WritePacket } from '@nestjs/microservices';
import type { MqttDriverClient } from '../../driver/index.js';
import type { Telemetry } from './telemetry.js';

type Callback = (packet: WritePacket) => void;

/**
 * The client's one tracing hook: runs one `send()` request inside its PRODUCER span `send <pattern>`, which ends
 * with the final reply, an error reply, a timeout, or when the subscriber unsubscribes.
 */
export function sendTraced(
  telemetry: Telemetry,
  client: MqttDriverClient | undefined,
  pattern: string,
  callback: Callback,
  request: (traced: Callback) => () => void,
): () => void {
  let end: ((error?: unknown) => void) | undefined;
  /** The outcome when the request finished before `telemetry.send()` returned (a synchronous failure). */
  let early: { error?: unknown } | undefined;
  const finish = (error?: unknown) => {
    if (end) end(error);
    else early = error === undefined ? {} : { error };
  };
  const traced: Callback = (packet) => {
    if (packet.err !== undefined && packet.err !== null) finish(packet.err);
    else if (packet.isDisposed) finish();
    callback(packet);
  };
  let teardown: () => void = () => undefined;
  end = telemetry.send(client, pattern, () => {
    teardown = request(traced);
  });
  if (early) end(early.error);
  return () => {
    end?.();
    teardown();
  };
}
