import type { INestApplication, Type } from '@nestjs/common';
import { type ClientProxy, ClientsModule } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom, timeout } from 'rxjs';
import { MATH_CLIENT } from './math.controller.js';
import { type HttpResult, httpOf, type IdiomMode, type RunningIdiomBroker, type ServerSettings } from './modes.js';

/** A running hybrid app of one mode: HTTP in front, one or more microservices behind, one client. */
export interface IdiomApp {
  app: INestApplication;
  client: ClientProxy;
  post(path: string, body?: unknown, method?: 'GET' | 'POST'): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface IdiomAppOptions {
  controllers: Type[];
  /** How many microservices to connect (the broadcast spec connects two). Default 1. */
  microservices?: number;
  settings?: ServerSettings;
}

/**
 * Builds the app the upstream specs build (`createNestApplication` + `connectMicroservice` +
 * `startAllMicroservices` + `init`), wired for `mode`: the only lines that differ from the built-in transport.
 */
export async function startIdiomApp(
  mode: IdiomMode,
  broker: RunningIdiomBroker,
  options: IdiomAppOptions,
): Promise<IdiomApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [ClientsModule.register([mode.client(broker, MATH_CLIENT)])],
    controllers: options.controllers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  for (let i = 0; i < (options.microservices ?? 1); i++) {
    app.connectMicroservice(mode.server(broker, options.settings), { inheritAppConfig: true });
  }
  await app.startAllMicroservices();
  await app.init();
  const post = await httpOf(app);
  const client = app.get<ClientProxy>(MATH_CLIENT);
  return { app, client, post, close: () => app.close() };
}

/**
 * Nest's `ServerMqtt.listen()` resolves on CONNACK, before the broker acknowledged its SUBSCRIBEs: ask `pattern`
 * until it answers, so a test's first request is not published before anyone subscribed.
 */
export async function waitUntilAnswering(client: ClientProxy, pattern: unknown, data: unknown): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const answered = await firstValueFrom(client.send(pattern, data).pipe(timeout(300))).then(
      () => true,
      () => false,
    );
    if (answered) return;
  }
  throw new Error(`nobody answered ${JSON.stringify(pattern)} within 10 s`);
}
