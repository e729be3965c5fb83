import 'reflect-metadata';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ProtocolVersion } from '../lib/driver/index.js';
import { AsyncApiModule, ClientMqttAsync, createAsyncApiDocument, ServerMqttAsync } from '../lib/nest/index.js';
import { AppModule } from './app.module.js';
import { type EmbeddedBroker, startEmbeddedBroker } from './broker/embedded-broker.js';
import { type SampleTracing, startTracing } from './tracing.js';

export interface SampleOptions {
  /** A broker to use; when absent an embedded broker is started. */
  mqttUrl?: string;
  /** Protocol of `mqttUrl` (default 5). The embedded broker always speaks 5. */
  protocolVersion?: ProtocolVersion;
  /** Port of the embedded broker (default 1883, or a free one if taken; 0 = any free port). */
  mqttPort?: number;
  /** HTTP port (default 3000; 0 = any free port). */
  httpPort?: number;
  logger?: false | LogLevel[];
  /**
   * Start the OpenTelemetry Node SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (default false; `npm start` and
   * `npm run sample:demo` pass true). See `sample/tracing.ts`.
   */
  tracing?: boolean;
}

export interface RunningSample {
  app: INestApplication;
  server: ServerMqttAsync;
  mqttUrl: string;
  httpUrl: string;
  /** The embedded broker, when one was started. */
  broker?: EmbeddedBroker;
  /** The OpenTelemetry SDK, when `tracing` was asked for and `OTEL_EXPORTER_OTLP_ENDPOINT` is set. */
  tracing?: SampleTracing;
  close(): Promise<void>;
}

/** Starts the sample: broker (unless `mqttUrl`), the hybrid Nest app (HTTP + MQTT microservice), the docs page. */
export async function startSample(options: SampleOptions = {}): Promise<RunningSample> {
  // Before the transports connect (they take their tracer and meter then).
  const tracing = options.tracing ? await startTracing() : undefined;
  const broker = options.mqttUrl ? undefined : await startEmbeddedBroker({ port: options.mqttPort ?? 1883 });
  const mqttUrl = options.mqttUrl ?? (broker as EmbeddedBroker).url;
  const mqtt = { url: mqttUrl, protocolVersion: options.protocolVersion ?? 5 };
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(AppModule.register(mqtt), {
      logger: options.logger ?? ['log', 'warn', 'error'],
    });
    const server = new ServerMqttAsync(mqtt);
    app.connectMicroservice({ strategy: server });
    app.enableShutdownHooks();
    const document = await createAsyncApiDocument(app, {
      title: 'Devices service (nest-mqtt-async sample)',
      version: '1.0.0',
      description: 'Temperature sensors, device commands over MQTT 5 request/response, and a shared job pool.',
      servers: { broker: server },
      parameters: { deviceId: 'Id of the temperature sensor', id: 'Id of the device' },
    });
    AsyncApiModule.setup('docs', app, document);
    await app.startAllMicroservices();
    await app.listen(options.httpPort ?? 3000, '127.0.0.1');
    const httpUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    let closing: Promise<void> | undefined;
    const started = app;
    const close = () => {
      // The SDK last: it flushes the spans of the shutdown too.
      closing ??= started
        .close()
        .finally(() => broker?.close())
        .finally(() => tracing?.shutdown());
      return closing;
    };
    return { app, server, mqttUrl, httpUrl, ...(broker ? { broker } : {}), ...(tracing ? { tracing } : {}), close };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await broker?.close();
    await tracing?.shutdown();
    throw err;
  }
}

/** Publishes one reading so the user sees the handler print (the sample's "after startup"). */
export async function publishTestMessage(mqttUrl: string, protocolVersion: ProtocolVersion = 5): Promise<void> {
  const client = new ClientMqttAsync({ url: mqttUrl, protocolVersion });
  try {
    await client.connect();
    await client.unwrap().publish('temperature-sensors/demo-1/temperature', '21.5', { qos: 1 });
  } finally {
    await client.close();
  }
}
