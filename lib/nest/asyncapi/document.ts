import type { INestApplicationContext } from '@nestjs/common';
import type { MqttAsyncHandlerDefaults } from '../options.js';
import { DocumentBuilder } from './builder.js';
import { scanClients, scanHandlers, scanPublications } from './scan.js';
import { loadClassSchemas, SchemaCollector } from './schemas.js';
import type { AsyncApiDocument, AsyncApiDocumentOptions, AsyncApiServer, AsyncApiServerInfo } from './types.js';

const MQTT_TRANSPORT = Symbol.for('nest-mqtt-async');

/**
 * Generates an AsyncAPI 3.0.0 document from the MQTT handlers and clients of a Nest app (or microservice):
 * servers from its `ServerMqttAsync` strategies and registered `ClientMqttAsync` instances (unless
 * `options.servers`), one channel per topic pattern (with its `{params}`), a `receive` operation per handler
 * (QoS, shared group, ack mode, the RPC reply), `send` operations for replies and declared publishers
 * (`@AsyncApiPublishes`, `@MqttAsyncPublishes`, `MqttAsyncPublisher.declare()`, `options.publishers`), and
 * message payload schemas from the `@Payload()` parameter types (class-validator DTOs through
 * `class-validator-jsonschema`).
 *
 * ```ts
 * const document = await createAsyncApiDocument(app, { title: 'Devices', servers: { broker: mqttServer } });
 * AsyncApiModule.setup('docs', app, document);
 * ```
 */
export async function createAsyncApiDocument(
  app: INestApplicationContext,
  options: AsyncApiDocumentOptions = {},
): Promise<AsyncApiDocument> {
  const handlers = scanHandlers(app, options.transportId ?? MQTT_TRANSPORT);
  const schemas = new SchemaCollector(await loadClassSchemas());
  const doc: AsyncApiDocument = {
    asyncapi: '3.0.0',
    info: {
      title: options.title ?? 'MQTT API',
      version: options.version ?? '1.0.0',
      ...(options.description ? { description: options.description } : {}),
    },
    defaultContentType: 'application/json',
    ...servers(app, options),
    channels: {},
    operations: {},
  };
  const builder = new DocumentBuilder(doc, schemas, options.parameters ?? {}, handlerDefaults(app));
  for (const handler of handlers) builder.addHandler(handler);
  for (const publisher of options.publishers ?? []) builder.addPublisher(publisher);
  for (const { by, publisher } of scanPublications(app)) builder.addPublisher(publisher, by);
  for (const channel of Object.values(doc.channels)) {
    const override = channel.address === null ? undefined : options.channels?.[channel.address];
    if (override?.title) channel.title = override.title;
    if (override?.description) channel.description = override.description;
  }
  if (Object.keys(schemas.used).length > 0) doc.components = { schemas: schemas.used };
  return doc;
}

function servers(app: INestApplicationContext, options: AsyncApiDocumentOptions): Pick<AsyncApiDocument, 'servers'> {
  const given = options.servers ?? discoverServers(app);
  const entries = Object.entries(given).map(([name, s]) => [name, toServer('options' in s ? s.options : s)] as const);
  return entries.length > 0 ? { servers: Object.fromEntries(entries) } : {};
}

/**
 * The brokers the app talks to: its `ServerMqttAsync` strategies, then the broker of each registered
 * `ClientMqttAsync` that none of them already describes (named after the client's injection token).
 */
function discoverServers(app: INestApplicationContext): Record<string, AsyncApiServerInfo> {
  const found = discoverStrategies(app);
  const known = new Set(Object.values(found).map(brokerKey));
  for (const client of scanClients(app)) {
    const key = brokerKey(client.options);
    if (known.has(key)) continue;
    known.add(key);
    const description = `The broker of the ClientMqttAsync \`${client.name}\` (the app publishes and sends requests here).`;
    found[uniqueName(found, client.name)] = { ...client.options, description };
  }
  return found;
}

/** Server names must match `^[A-Za-z0-9_-]+$`. */
function uniqueName(taken: Record<string, unknown>, wanted: string): string {
  const base = wanted.replace(/[^\w-]/g, '_') || 'client';
  let name = base;
  for (let n = 2; taken[name]; n++) name = `${base}-${n}`;
  return name;
}

function brokerKey(info: AsyncApiServerInfo): string {
  const server = toServer(info);
  return `${server.protocol}://${server.host}${server.pathname ?? ''}`;
}

/** The server-wide handler defaults (`qos`, `ack`, `concurrency`, `group`, `retry`) of the app's first `ServerMqttAsync`. */
function handlerDefaults(app: INestApplicationContext): MqttAsyncHandlerDefaults {
  const first = Object.values(discoverStrategies(app))[0] as MqttAsyncHandlerDefaults | undefined;
  if (!first) return {};
  const { qos, ack, concurrency, group, retry } = first;
  return { qos, ack, concurrency, group, retry };
}

/** The `ServerMqttAsync` strategies of the app: itself (a microservice) or those of `connectMicroservice()`. */
function discoverStrategies(app: INestApplicationContext): Record<string, AsyncApiServerInfo> {
  type Host = { serverInstance?: { transportId?: unknown; options?: AsyncApiServerInfo } };
  const hosted = app as INestApplicationContext & Host & { getMicroservices?: () => Host[] };
  const hosts: Host[] = [hosted, ...(hosted.getMicroservices?.() ?? [])];
  const found: Record<string, AsyncApiServerInfo> = {};
  for (const host of hosts) {
    const server = host.serverInstance;
    if (server?.transportId !== MQTT_TRANSPORT || typeof server.options?.url !== 'string') continue;
    const name = Object.keys(found).length === 0 ? 'mqtt' : `mqtt-${Object.keys(found).length + 1}`;
    found[name] = server.options;
  }
  return found;
}

function toServer(info: AsyncApiServerInfo): AsyncApiServer {
  const url = new URL(info.url);
  const protocol = url.protocol.replace(/:$/, '');
  const defaultPort = { mqtt: '1883', mqtts: '8883', ws: '80', wss: '443' }[protocol] ?? '';
  const server: AsyncApiServer = {
    host: `${url.hostname}:${url.port || defaultPort}`,
    protocol,
    protocolVersion: info.protocolVersion === 4 ? '3.1.1' : '5',
  };
  if (url.pathname && url.pathname !== '/') server.pathname = url.pathname;
  if (info.description) server.description = info.description;
  const mqtt: Record<string, unknown> = { bindingVersion: '0.2.0' };
  if (info.clientId) mqtt.clientId = info.clientId;
  if (info.cleanStart !== undefined) mqtt.cleanSession = info.cleanStart;
  if (info.keepalive !== undefined) mqtt.keepAlive = info.keepalive;
  if (info.sessionExpiryInterval !== undefined) mqtt.sessionExpiryInterval = info.sessionExpiryInterval;
  server.bindings = { mqtt };
  return server;
}
