import type { LoggerService } from '@nestjs/common';
import type { ClientEvents, MqttDriverClient, MqttMessage } from '../../driver/index.js';
import { describeError } from '../describe-error.js';

/** Emitted once per received message after its handlers settled and its replies and acks were sent. */
export interface MessageHandledEvent {
  message: MqttMessage;
  topic: string;
  error?: unknown;
}

/** Events of `ServerMqttAsync.on()`: the driver's events plus `message:handled`. */
export type MqttAsyncServerEvents = {
  [E in keyof ClientEvents]: (...args: ClientEvents[E]) => void;
} & {
  'message:handled': (event: MessageHandledEvent) => void;
};

type Listener = (...args: unknown[]) => void;

/**
 * The listeners of `ServerMqttAsync.on()`: driver events are attached to every driver client the server wires
 * (also those registered before `listen()`); `message:handled` is emitted by the server itself.
 */
export class ServerListeners {
  private readonly all: Array<[string, Listener]> = [];
  /** 'message:handled' listeners among `all`: the event is built only when someone listens. */
  private handled = 0;

  constructor(private readonly logger: () => LoggerService) {}

  /** True when someone listens to `message:handled`. */
  get wantsHandled(): boolean {
    return this.handled > 0;
  }

  /** Registers `listener`, attached to `client` at once when there is one. */
  add(event: string, listener: Listener, client: MqttDriverClient | undefined): void {
    this.all.push([event, listener]);
    if (event === 'message:handled') this.handled++;
    if (client) this.attach(client, event, listener);
  }

  /** Attaches every driver-event listener to a newly wired client. */
  attachAll(client: MqttDriverClient): void {
    for (const [event, listener] of this.all) this.attach(client, event, listener);
  }

  emitHandled(message: MqttMessage, error: unknown): void {
    const event: MessageHandledEvent = { message, topic: message.topic };
    if (error !== undefined) event.error = error;
    for (const [name, listener] of this.all) {
      if (name !== 'message:handled') continue;
      try {
        listener(event);
      } catch (err) {
        this.logger().error(`A 'message:handled' listener threw: ${describeError(err)}`);
      }
    }
  }

  private attach(client: MqttDriverClient, event: string, listener: Listener): void {
    if (event === 'message:handled') return;
    client.on(event as keyof ClientEvents, listener as never);
  }
}
