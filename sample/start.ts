import { Logger } from '@nestjs/common';
import { publishTestMessage, startSample } from './main.js';

/**
 * `npm start`: the sample on MQTT_URL, or on an embedded broker at 127.0.0.1:1883 (or a free port); traces to an
 * OTLP endpoint when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
async function main(): Promise<void> {
  const logger = new Logger('Sample');
  const protocolVersion = process.env.MQTT_PROTOCOL_VERSION === '4' ? 4 : 5;
  const sample = await startSample({
    ...(process.env.MQTT_URL ? { mqttUrl: process.env.MQTT_URL } : {}),
    protocolVersion,
    httpPort: Number(process.env.PORT ?? 3000),
    ...(process.env.MQTT_PORT ? { mqttPort: Number(process.env.MQTT_PORT) } : {}),
    tracing: true,
  });
  logger.log(
    sample.broker ? `Embedded MQTT broker (aedes, MQTT 5) on ${sample.mqttUrl}` : `MQTT broker: ${sample.mqttUrl}`,
  );
  logger.log(`HTTP on ${sample.httpUrl}: AsyncAPI page ${sample.httpUrl}/docs, JSON ${sample.httpUrl}/docs.json`);
  logger.log(`Health: ${sample.httpUrl}/health`);
  if (sample.tracing) logger.log(`OpenTelemetry: traces to ${sample.tracing.endpoint} (OTLP/HTTP)`);
  const port = new URL(sample.mqttUrl).port;
  logger.log(`Try: mosquitto_pub -p ${port} -t temperature-sensors/t1/temperature -m 22.5`);
  // MQTT 3.1.1 has no Response Topic: RPC then uses Nest's wire format, which mosquitto_rr does not speak.
  if (protocolVersion === 5) {
    logger.log(`     mosquitto_rr -V 5 -p ${port} -t devices/t1/cmd -e replies/me -m '{"op":"reboot"}'`);
  }
  await publishTestMessage(sample.mqttUrl, protocolVersion);
  // `on`, not `once`: Nest's shutdown hooks re-raise the signal once the app is closed, which would kill the
  // process before the OpenTelemetry SDK has sent the spans still batched. While this listener is there, the
  // re-raised signal lands here (close() is idempotent) and the process exits once everything is closed.
  const stop = () => {
    void sample.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'EADDRINUSE' ? ' (the HTTP port is taken: set PORT=<free port>)' : '';
  console.error(`Sample failed to start: ${e.message}${hint}`);
  process.exit(1);
});
