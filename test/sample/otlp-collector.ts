import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One OTLP/JSON span, as the exporter sends it (ids in hex). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  /** `service.name` of the resource that sent it. */
  service?: string;
}

/** OTLP span kinds (protobuf enum values, as in the JSON encoding). */
export const SPAN_KIND = { CONSUMER: 5, PRODUCER: 4 } as const;

interface ExportBody {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpSpan['attributes'] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
  resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Array<{ name: string }> }> }>;
}

/**
 * A loopback OTLP/HTTP receiver for tests: it answers every POST with 200 and keeps the JSON bodies sent to
 * `/v1/traces` and `/v1/metrics` (a non-JSON body, e.g. protobuf, is counted as such, so a test can say so).
 */
export class OtlpCollector {
  private readonly server = http.createServer((req, res) => this.receive(req, res));
  private readonly traces: ExportBody[] = [];
  private readonly metrics: ExportBody[] = [];
  /** Requests whose body was not JSON, by path. */
  readonly notJson: string[] = [];
  /** Every request path seen, in order. */
  readonly paths: string[] = [];

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Every span received so far. */
  spans(): OtlpSpan[] {
    return this.traces.flatMap((body) =>
      (body.resourceSpans ?? []).flatMap((rs) => {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
        return (rs.scopeSpans ?? []).flatMap((ss) =>
          (ss.spans ?? []).map((span) => ({ ...span, ...(typeof service === 'string' ? { service } : {}) })),
        );
      }),
    );
  }

  /** Names of every metric received so far. */
  metricNames(): Set<string> {
    return new Set(
      this.metrics.flatMap((body) =>
        (body.resourceMetrics ?? []).flatMap((rm) =>
          (rm.scopeMetrics ?? []).flatMap((sm) => (sm.metrics ?? []).map((m) => m.name)),
        ),
      ),
    );
  }

  private receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      this.paths.push(path);
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportBody;
        if (path === '/v1/traces') this.traces.push(body);
        if (path === '/v1/metrics') this.metrics.push(body);
      } catch {
        this.notJson.push(path);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  }
}

/** The value of a span attribute (string, int or bool), or undefined. */
export function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && (value.stringValue ?? value.intValue ?? value.boolValue);
}
