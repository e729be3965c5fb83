import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { MqttAsyncPublisher } from './publisher.js';
import { ServerMqttAsync } from './server-mqtt-async.js';

/** Options of {@link MqttAsyncPublisherModule.forServerAsync}: a provider factory that makes the server. */
export interface MqttAsyncPublisherAsyncOptions {
  imports?: ModuleMetadata['imports'];
  /** Tokens passed to `useFactory` (e.g. `ConfigService`). */
  // biome-ignore lint/suspicious/noExplicitAny: Nest's type of a provider's inject list
  inject?: any[];
  // biome-ignore lint/suspicious/noExplicitAny: the factory's arguments are the injected providers
  useFactory: (...args: any[]) => ServerMqttAsync | Promise<ServerMqttAsync>;
}

/**
 * Provides {@link MqttAsyncPublisher} app-wide (a global module), publishing through a `ServerMqttAsync`'s own
 * connection.
 *
 * - `forServer(server)`: the server instance you also pass to `connectMicroservice({ strategy: server })` /
 *   `createMicroservice(AppModule, { strategy: server })`.
 * - `forServerAsync({ useFactory, inject })`: the server is made by the container (from `ConfigService`, say) and
 *   provided as `ServerMqttAsync` too: `app.connectMicroservice({ strategy: app.get(ServerMqttAsync) })`.
 * - `forRoot()`: the `ServerMqttAsync` listening in this process (the last to start) at each publish.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static factories
export class MqttAsyncPublisherModule {
  static forServer(server: ServerMqttAsync): DynamicModule {
    return MqttAsyncPublisherModule.with([{ provide: MqttAsyncPublisher, useValue: new MqttAsyncPublisher(server) }]);
  }

  static forServerAsync(options: MqttAsyncPublisherAsyncOptions): DynamicModule {
    const module = MqttAsyncPublisherModule.with([
      { provide: ServerMqttAsync, useFactory: options.useFactory, inject: options.inject ?? [] },
      {
        provide: MqttAsyncPublisher,
        useFactory: (server: ServerMqttAsync) => new MqttAsyncPublisher(server),
        inject: [ServerMqttAsync],
      },
    ]);
    return { ...module, imports: options.imports ?? [], exports: [MqttAsyncPublisher, ServerMqttAsync] };
  }

  static forRoot(): DynamicModule {
    return MqttAsyncPublisherModule.with([{ provide: MqttAsyncPublisher, useValue: new MqttAsyncPublisher() }]);
  }

  private static with(providers: NonNullable<ModuleMetadata['providers']>): DynamicModule {
    return { module: MqttAsyncPublisherModule, global: true, providers, exports: [MqttAsyncPublisher] };
  }
}
