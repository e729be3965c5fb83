import type { INestApplication } from '@nestjs/common';
import { type ClientProvider, type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { ClientMqttAsync, type MqttAsyncServerOptions, ServerMqttAsync } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { eventually as until } from '../../support/eventually.js';
import { hasMosquitto, startMosquitto } from '../../support/mosquitto.js';

export { until };

/**
 * What the upstream specs configure on the built-in transport, in its own words (`subscribeOptions.qos`), so each
 * mode shows what that setting becomes on our side.
 */
export interface ServerSettings {
  /** Built-in: `options.subscribeOptions.qos`. Ours: the server-wide handler default `qos`. */
  qos?: 0 | 1 | 2;
  /** Ours only (the built-in has none: its users write `$share/<group>/` into every pattern). */
  group?: string;
  /** Ours only (the built-in closes at once): how long `close()` may wait for running handlers. */
  shutdownTimeout?: number;
}

/** A broker the mode runs on: its URL and how to stop it, plus a connector when it lives in memory. */
export interface RunningIdiomBroker {
  url: string;
  /** Set for the in-memory broker: plugs our transport into it (the built-in one cannot use it). */
  connector?: MqttAsyncServerOptions['connector'];
  stop(): Promise<void>;
}

/**
 * One way to wire the same controllers: the four modes of the migration contract (ours on 3.1.1, ours on 5,
 * Nest's built-in server with our client, our server with Nest's built-in client), on mosquitto, plus ours on the
 * in-memory broker. Only `server()` and `client()` differ between modes: the controllers are the same code.
 */
export interface IdiomMode {
  name: string;
  /** MQTT version both sides speak (the built-in side: MQTT.js's default, 3.1.1). */
  protocolVersion: 4 | 5;
  /** Which side is ours: the built-in side uses mqtt.js (a devDependency). */
  ours: { server: boolean; client: boolean };
  available: boolean;
  startBroker(): Promise<RunningIdiomBroker>;
  /** What replaces `app.connectMicroservice({ transport: Transport.MQTT, options })`. */
  server(broker: RunningIdiomBroker, settings?: ServerSettings): MicroserviceOptions;
  /** What replaces `@Client({ transport: Transport.MQTT })` / `ClientsModule.register([...])`. */
  client(broker: RunningIdiomBroker, name: string | symbol): ClientProvider & { name: string | symbol };
}

async function mosquitto(): Promise<RunningIdiomBroker> {
  const running = await startMosquitto();
  return { url: running.url, stop: () => running.stop() };
}

async function memory(protocolVersion: 4 | 5): Promise<RunningIdiomBroker> {
  const broker = new MqttAsyncTestBroker({ protocolVersion });
  return { url: broker.url, connector: broker.connector, stop: () => broker.close() };
}

function ourServer(protocolVersion: 4 | 5) {
  return (broker: RunningIdiomBroker, settings: ServerSettings = {}): MicroserviceOptions => ({
    strategy: new ServerMqttAsync({
      url: broker.url,
      protocolVersion,
      ...(settings.qos !== undefined ? { qos: settings.qos } : {}),
      ...(settings.group !== undefined ? { group: settings.group } : {}),
      ...(settings.shutdownTimeout !== undefined ? { shutdownTimeout: settings.shutdownTimeout } : {}),
      ...(broker.connector ? { connector: broker.connector } : {}),
    }),
  });
}

function ourClient(protocolVersion: 4 | 5) {
  return (broker: RunningIdiomBroker, name: string | symbol) => ({
    name,
    customClass: ClientMqttAsync,
    options: { url: broker.url, protocolVersion, ...(broker.connector ? { connector: broker.connector } : {}) },
  });
}

function builtInServer(broker: RunningIdiomBroker, settings: ServerSettings = {}): MicroserviceOptions {
  return {
    transport: Transport.MQTT,
    options: { url: broker.url, ...(settings.qos !== undefined ? { subscribeOptions: { qos: settings.qos } } : {}) },
  };
}

function builtInClient(broker: RunningIdiomBroker, name: string | symbol) {
  return { name, transport: Transport.MQTT, options: { url: broker.url } } as ClientProvider & { name: string };
}

export const idiomModes: IdiomMode[] = [
  {
    name: 'ours on MQTT 3.1.1 (mosquitto)',
    protocolVersion: 4,
    ours: { server: true, client: true },
    available: hasMosquitto,
    startBroker: mosquitto,
    server: ourServer(4),
    client: ourClient(4),
  },
  {
    name: 'ours on MQTT 5 (mosquitto)',
    protocolVersion: 5,
    ours: { server: true, client: true },
    available: hasMosquitto,
    startBroker: mosquitto,
    server: ourServer(5),
    client: ourClient(5),
  },
  {
    name: 'built-in ServerMqtt + ClientMqttAsync (mosquitto)',
    protocolVersion: 4,
    ours: { server: false, client: true },
    available: hasMosquitto,
    startBroker: mosquitto,
    server: builtInServer,
    client: ourClient(4),
  },
  {
    name: 'ServerMqttAsync + built-in ClientMqtt (mosquitto)',
    protocolVersion: 4,
    ours: { server: true, client: false },
    available: hasMosquitto,
    startBroker: mosquitto,
    server: ourServer(4),
    client: builtInClient,
  },
  {
    name: 'ours on MQTT 3.1.1 (in-memory broker)',
    protocolVersion: 4,
    ours: { server: true, client: true },
    available: true,
    startBroker: () => memory(4),
    server: ourServer(4),
    client: ourClient(4),
  },
  {
    name: 'ours on MQTT 5 (in-memory broker)',
    protocolVersion: 5,
    ours: { server: true, client: true },
    available: true,
    startBroker: () => memory(5),
    server: ourServer(5),
    client: ourClient(5),
  },
];

if (!hasMosquitto)
  console.warn('SKIPPED: the mosquitto modes of test/interop/nest-idioms need mosquitto (apt-get install mosquitto)');

/** An HTTP response of the hybrid app: status and raw body text (what supertest's `.expect(status, body)` reads). */
export interface HttpResult {
  status: number;
  body: string;
}

/** Starts the app's HTTP side on a free loopback port; returns a `post(path, json)` against it. */
export async function httpOf(
  app: INestApplication,
): Promise<(path: string, body?: unknown, method?: 'GET' | 'POST') => Promise<HttpResult>> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return async (path, body, method = 'POST') => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      ...(method === 'POST'
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }
        : {}),
    });
    return { status: res.status, body: await res.text() };
  };
}
