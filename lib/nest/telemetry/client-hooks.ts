import type { WritePacket } from '@nestjs/microservices';
import type { MqttDriverClient } from '../../driver/index.js';
import { loadTelemetry } from './load.js';
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

/**
 * The first `send()` of a new client may come before the API finished loading: it waits for it (the caller's
 * context travels along), so that request gets its span too. Returns the teardown.
 */
export function afterLoading(ready: Promise<unknown>, run: () => () => void): () => void {
  let teardown: (() => void) | undefined;
  let tornDown = false;
  void ready.then(() => {
    if (!tornDown) teardown = run();
  });
  return () => {
    tornDown = true;
    teardown?.();
  };
}

/** A `ClientMqttAsync`'s telemetry: loading from construction on (`ready`), then `current` (or none). */
export class ClientTelemetry {
  current: Telemetry | undefined;
  private loaded: boolean;
  readonly ready: Promise<Telemetry | undefined>;

  constructor(enabled: boolean | undefined) {
    this.loaded = enabled === false;
    this.ready = loadTelemetry(enabled, 'client').then((t) => {
      this.current = t;
      this.loaded = true;
      return t;
    });
  }

  /** Runs `fn` (opening the connection) outside the caller's trace, once the API is loaded. */
  async detached<T>(fn: () => Promise<T>): Promise<T> {
    const telemetry = await this.ready;
    return telemetry ? telemetry.detached(fn) : fn();
  }

  /** Runs one `send()` request, inside its span when telemetry is on. */
  send(
    client: MqttDriverClient | undefined,
    pattern: () => string,
    callback: Callback,
    request: (callback: Callback) => () => void,
  ): () => void {
    const telemetry = this.current;
    if (telemetry?.active) return sendTraced(telemetry, client, pattern(), callback, request);
    if (this.loaded) return request(callback);
    return afterLoading(this.ready, () => this.send(client, pattern, callback, request));
  }
}
