/**
 * The real OpenTelemetry SDK for tests: in-memory span exporter, a metric reader collected on demand, the
 * AsyncLocalStorage context manager and the W3C propagator, registered globally (as an app's SDK setup would).
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface Otel {
  readonly exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  /** Every metric name collected so far, with its data points' attributes. */
  metricNames(): Promise<Set<string>>;
  collect(): Promise<ResourceMetrics>;
  shutdown(): Promise<void>;
}

export function registerOtel(): Otel {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  const collect = async () => (await reader.collect()).resourceMetrics;
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    collect,
    async metricNames() {
      const names = new Set<string>();
      for (const scope of (await collect()).scopeMetrics)
        for (const m of scope.metrics) if (m.dataPoints.length > 0) names.add(m.descriptor.name);
      return names;
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      contextManager.disable();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The one finished span named `name`; fails listing the names there are. */
export function spanNamed(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one span '${name}', found ${found.length} among: ${spans.map((s) => s.name).join(', ')}`);
  }
  return found[0]!;
}

export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
