/** The OpenTelemetry Node SDK, started for the sample's process. */
export interface SampleTracing {
  /** Where the spans go (the OTLP/HTTP base URL, or the traces URL when only that one is set). */
  readonly endpoint: string;
  /**
   * Flushes the spans still batched and stops the SDK; resolves after at most `boundMs` (default 3 s) even when the
   * endpoint does not answer, so stopping the sample never hangs on it.
   */
  shutdown(boundMs?: number): Promise<void>;
}

/**
 * Starts the standard OpenTelemetry Node SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: spans go to `<endpoint>/v1/traces` as OTLP/HTTP JSON, and every
 * other `OTEL_*` variable works as the SDK documents (`OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, …). Metrics
 * and logs are exported only when `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` ask for them (Jaeger, the usual
 * local target, takes traces only). Without the variables nothing of the SDK is loaded: it is a dev dependency of
 * this repository, not of the package, whose `lib/` only ever uses `@opentelemetry/api`.
 *
 * Call it before the transports connect: the package takes its meter when a transport connects, and the metrics
 * API (unlike tracing) does not forward a meter taken before a provider is registered.
 */
export async function startTracing(): Promise<SampleTracing | undefined> {
  const env = process.env;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!endpoint) return undefined;
  // The SDK reads these itself: default them to 'none' so only traces are sent unless the user asks for more.
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: 'nest-mqtt-async-sample' }),
    traceExporter: new OTLPTraceExporter(),
  });
  sdk.start();
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    shutdown(boundMs = 3_000) {
      stopping ??= sdk.shutdown().catch(() => undefined);
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, boundMs);
        timer.unref();
        void stopping?.finally(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
