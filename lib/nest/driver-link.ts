import type { LoggerService } from '@nestjs/common';
import type { ClientStatus, MqttClientOptions, MqttDriverClient } from '../driver/index.js';
import { DEFAULT_MAXIMUM_PACKET_SIZE } from './limits.js';
import { driverOptionsOf, type MqttAsyncTransportOptions } from './options.js';
import { gaveUp, resolveReconnect } from './reconnect.js';
import { ServerListeners } from './server/server-listeners.js';

/** What the owner (`ServerMqttAsync` / `ClientMqttAsync`) does with the reports of its driver client. */
export interface DriverLinkHooks {
  /** A client was wired (before its first connection attempt). */
  wired(): void;
  /** A status of a wired client; `current`: of the client wired last. */
  status(status: ClientStatus, current: boolean): void;
  /** An 'error' of a wired client. */
  error(error: Error): void;
  /** The current client closed for good on its own (reconnecting gave up); `lastError`: its last 'error'. */
  gaveUp(lastError: Error | undefined): void;
  /** True once the owner is closing: a `closed` status is then ours, not a give-up. */
  closing(): boolean;
}

/**
 * The driver client a `ServerMqttAsync` or `ClientMqttAsync` runs on, and what both do with it alike: the options
 * that go down to the connector (the allow-list, the Nest defaults, wiring in `beforeConnect`), the forwarding of
 * its status and errors, the `on()` listeners (attached to every client wired, also those registered before) and
 * `unwrap()`.
 */
export class DriverLink {
  /** The client wired last: set before its first connection attempt. */
  current: MqttDriverClient | undefined;
  readonly listeners: ServerListeners;

  constructor(
    private readonly hooks: DriverLinkHooks,
    logger: () => LoggerService,
  ) {
    this.listeners = new ServerListeners(logger);
  }

  /**
   * What the connector gets: the driver options of `options`, with the Nest layer's defaults (1 MiB
   * `maximumPacketSize`, {@link resolveReconnect}), and a `beforeConnect` that wires the client first.
   */
  driverOptions(options: MqttAsyncTransportOptions): MqttClientOptions {
    const driverOptions = driverOptionsOf(options);
    const before = driverOptions.beforeConnect;
    return {
      ...driverOptions,
      maximumPacketSize: driverOptions.maximumPacketSize ?? DEFAULT_MAXIMUM_PACKET_SIZE,
      reconnect: resolveReconnect(driverOptions.reconnect),
      beforeConnect: (client) => {
        this.wire(client);
        before?.(client);
      },
    };
  }

  /** Forwards the client's status and errors, and attaches the `on()` listeners: before its first attempt. */
  wire(client: MqttDriverClient): void {
    this.current = client;
    this.hooks.wired();
    let connected = false;
    let lastError: Error | undefined;
    client.on('status', (status) => {
      connected ||= status === 'connected';
      const current = client === this.current;
      this.hooks.status(status, current);
      if (current && gaveUp(status, connected, this.hooks.closing())) this.hooks.gaveUp(lastError);
    });
    client.on('error', (err) => {
      lastError = err;
      this.hooks.error(err);
    });
    this.listeners.attachAll(client);
  }

  /** Registers a listener for a driver event (or the server's `message:handled`); works before the client exists. */
  on(event: string, listener: (...args: unknown[]) => void): void {
    this.listeners.add(event, listener, this.current);
  }

  /** The current client; throws `notConnected()` before there is one. */
  unwrap<T>(notConnected: () => Error): T {
    if (!this.current) throw notConnected();
    return this.current as T;
  }
}
