import type { MessageHandler } from '@nestjs/microservices';
import type { MqttDriverClient, Subscription } from '../../driver/index.js';
import type { MqttAsyncContext } from '../context/mqtt-async.context.js';
import type { MqttAsyncHandlerOptions } from '../options.js';
import { MqttAsyncPatternError, parseRoutePattern } from '../routing/pattern.js';
import {
  type MqttAsyncRouter,
  type RouteEntry,
  resolveHandlerOptions,
  type SubscriptionGroup,
} from '../routing/router.js';
import { StopSignal } from './stop-signal.js';

/**
 * A handler given to `server.subscribe()`: called like a decorated handler's method with the decoded payload and
 * the `MqttAsyncContext` (params, ack control). For `kind: 'message'` its return value (a value, a Promise or an
 * Observable) is the RPC reply. Nest's guards, pipes, interceptors and exception filters do not apply.
 */
export type MqttAsyncRuntimeHandler = (data: unknown, ctx: MqttAsyncContext) => unknown;

/** Options of `server.subscribe()`: the handler options of `@EventPattern` / `@MessagePattern`, plus `kind`. */
export interface MqttAsyncSubscribeOptions extends MqttAsyncHandlerOptions {
  /** `'event'` (default): as `@EventPattern`. `'message'`: as `@MessagePattern`, its result is the reply. */
  kind?: 'event' | 'message';
}

/** What `server.subscribe()` resolves with. */
export interface MqttAsyncSubscriptionHandle {
  /** The pattern as given. */
  readonly pattern: string;
  /**
   * Stops the subscription: the broker stops sending what only it needed (a filter another handler still holds
   * stays subscribed), the messages it had already received are still handled; resolves once they were.
   * Idempotent.
   */
  unsubscribe(): Promise<void>;
}

/** What the runtime subscriptions need of their server. */
export interface RuntimeSubscriptionsHost {
  /** The server's current router (a new one per `listen()`). */
  router(): MqttAsyncRouter<MessageHandler>;
  /** Subscribes a group's filters with its options, as for decorated handlers. */
  subscribe(client: MqttDriverClient, group: SubscriptionGroup<MessageHandler>): Promise<Subscription>;
  /** Consumes a subscription as for decorated handlers (concurrency, ack order) until it ends or `stop`. */
  consume(group: SubscriptionGroup<MessageHandler>, sub: Subscription, stop: StopSignal): Promise<void>;
}

/** One `server.subscribe()`: kept across `close()` / `listen()` until unsubscribed. */
class Registration {
  entry: RouteEntry<MessageHandler> | undefined;
  sub: Subscription | undefined;
  stop: StopSignal | undefined;
  consuming: Promise<void> = Promise.resolve();
  /** Settles when the current subscribe attempt did. */
  ready: Promise<unknown> = Promise.resolve();
  private running = 0;
  private idle: (() => void) | undefined;
  readonly handler: MessageHandler;

  constructor(
    readonly pattern: string,
    handler: MqttAsyncRuntimeHandler,
    readonly isEvent: boolean,
    readonly options: MqttAsyncHandlerOptions,
    readonly where: string,
  ) {
    const run = async (data: unknown, ctx: MqttAsyncContext) => {
      this.running++;
      try {
        return await handler(data, ctx);
      } finally {
        if (--this.running === 0) this.idle?.();
      }
    };
    this.handler = Object.assign(run, { isEventHandler: isEvent, extras: options }) as unknown as MessageHandler;
  }

  /** Resolves when no call of the handler is running. */
  settled(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = () => {
        this.idle = undefined;
        resolve();
      };
    });
  }
}

/**
 * `server.subscribe(pattern, handler, options)`: handlers for patterns known only at runtime, with the routing
 * (`{param}` levels, `+`/`#`), options validation, acks and concurrency of decorated handlers. Each is a
 * subscription group of its own, subscribed and consumed on its own, so adding or removing one never touches the
 * subscriptions of other handlers; the driver UNSUBSCRIBEs only filters no other subscription holds.
 */
export class RuntimeSubscriptions {
  private readonly live = new Set<Registration>();
  private client: MqttDriverClient | undefined;

  constructor(private readonly host: RuntimeSubscriptionsHost) {}

  /** Registers (and, when the server listens, subscribes) a handler. @throws MqttAsyncPatternError */
  async add(
    pattern: string,
    handler: MqttAsyncRuntimeHandler,
    options: MqttAsyncSubscribeOptions = {},
  ): Promise<MqttAsyncSubscriptionHandle> {
    const { kind = 'event', ...handlerOptions } = options;
    const where = `server.subscribe('${pattern}')`;
    if (kind !== 'event' && kind !== 'message') {
      throw new MqttAsyncPatternError(`Invalid handler options on ${where}: kind must be 'event' or 'message'`);
    }
    parseRoutePattern(pattern, where);
    resolveHandlerOptions(handlerOptions, where);
    const reg = new Registration(pattern, handler, kind === 'event', handlerOptions, where);
    if (this.client) await this.start(reg, this.client);
    this.live.add(reg);
    let removing: Promise<void> | undefined;
    return {
      pattern,
      unsubscribe: () => {
        removing ??= this.remove(reg);
        return removing;
      },
    };
  }

  /** The server listens on `client` (its decorated handlers are subscribed): subscribes every registration. */
  async listen(client: MqttDriverClient): Promise<void> {
    this.client = client;
    await Promise.all([...this.live].map((reg) => this.start(reg, client)));
  }

  /** The server closes: stops consuming (registrations stay for the next `listen()`); resolves when stopped. */
  async stop(): Promise<void> {
    this.client = undefined;
    const all = [...this.live];
    for (const reg of all) reg.stop?.stop();
    await Promise.all(all.map((reg) => reg.consuming));
  }

  private async start(reg: Registration, client: MqttDriverClient): Promise<void> {
    const router = this.host.router();
    const entry = router.add(reg.pattern, reg.handler, reg.isEvent, reg.options, reg.where, true);
    reg.entry = entry;
    const subscribing = this.host.subscribe(client, entry.group);
    reg.ready = subscribing.catch(() => undefined);
    try {
      reg.sub = await subscribing;
    } catch (err) {
      router.remove(entry);
      throw err;
    }
    const stop = new StopSignal();
    reg.stop = stop;
    reg.consuming = this.host.consume(entry.group, reg.sub, stop);
  }

  private async remove(reg: Registration): Promise<void> {
    this.live.delete(reg);
    await reg.ready;
    const { sub, entry } = reg;
    let failed: unknown;
    // Ends the driver subscription first: nothing new reaches it; what it had received is still read below.
    // The UNSUBACK can be lost with the link: the subscription is gone here all the same, the error is reported.
    if (sub && this.client) await sub.unsubscribe().catch((err: unknown) => (failed = err));
    await reg.consuming;
    await reg.settled();
    if (entry) this.host.router().remove(entry);
    if (failed !== undefined) throw failed;
  }
}
