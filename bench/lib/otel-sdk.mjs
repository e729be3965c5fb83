/**
 * The real OpenTelemetry SDK as an app would register it, for the transport bench's `ours-sdk` contender: a
 * BasicTracerProvider with a BatchSpanProcessor (default batch settings) exporting to an exporter that drops the
 * spans (the cost measured is the SDK's, not a network's), a MeterProvider whose reader is never collected
 * (instruments record into the SDK's aggregations), the AsyncLocalStorage context manager and the W3C propagator.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** A span exporter that counts and drops what it is given. */
class DroppingExporter {
  exported = 0;
  /**
   * @param {unknown[]} spans
   * @param {(result: { code: number }) => void} done
   */
  export(spans, done) {
    this.exported += spans.length;
    done({ code: 0 });
  }
  shutdown() {
    return Promise.resolve();
  }
  forceFlush() {
    return Promise.resolve();
  }
}

class NeverCollected extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/** Registers the SDK globally; returns the exporter (its `exported` count shows spans really were made). */
export function registerOtelSdk() {
  const exporter = new DroppingExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new NeverCollected()] }));
  return exporter;
}
