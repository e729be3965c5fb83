/**
 * `MqttAsyncPublisher` with telemetry on (the real SDK, in-memory broker): a publish from an MQTT handler is a
 * PRODUCER span child of the handler's CONSUMER span, and one from an HTTP request's span is its child; both carry
 * the trace context to the subscriber (`traceparent`).
 */
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { SpanKind, trace } from '@opentelemetry/api';
import { MqttAsyncPublisher, MqttAsyncPublisherModule } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { until } from '../../support/messages.js';
import { type Otel, parentOf, registerOtel, spanNamed } from './otel.js';

@Controller()
class AuditController {
  constructor(private readonly publisher: MqttAsyncPublisher) {}

  @EventPattern<string>('orders/{id}/paid')
  async paid() {
    await this.publisher.publish('audit/paid', { ok: true });
  }
}

let otel: Otel;
let broker: MqttAsyncTestBroker;
let app: INestMicroservice | undefined;

beforeAll(() => {
  otel = registerOtel();
});
afterEach(async () => {
  await app?.close();
  await broker?.close();
  app = undefined;
  otel.exporter.reset();
});
afterAll(async () => {
  await otel?.shutdown();
});

async function start(): Promise<MqttAsyncPublisher> {
  broker = new MqttAsyncTestBroker();
  const server = broker.createServer();
  const moduleRef = await Test.createTestingModule({
    imports: [MqttAsyncPublisherModule.forServer(server)],
    controllers: [AuditController],
  }).compile();
  app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
  await app.listen();
  return app.get(MqttAsyncPublisher);
}

const traceIdOf = (traceparent: unknown) => String(traceparent).split('-')[1];

it("a handler's publish is a child of its consumer span and carries the trace", async () => {
  await start();
  await broker.publish('orders/1/paid', { id: 1 });
  const audit = await broker.waitFor('audit/paid');
  await until(() => otel.spans().some((s) => s.name === 'publish audit/paid'), 5000, 'the producer span');
  const spans = otel.spans();
  const process = spanNamed(spans, 'process orders/{id}/paid');
  const publish = spanNamed(spans, 'publish audit/paid');
  expect(publish.kind).toBe(SpanKind.PRODUCER);
  expect(parentOf(publish)).toBe(process.spanContext().spanId);
  expect(traceIdOf(audit.userProperties.traceparent)).toBe(process.spanContext().traceId);
});

it("a publish inside an HTTP request's span is its child", async () => {
  const publisher = await start();
  const tracer = trace.getTracer('test-http');
  const http = await tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, async (span) => {
    await publisher.publish('orders/created', { id: 2 });
    span.end();
    return span;
  });
  const created = await broker.waitFor('orders/created');
  const publish = spanNamed(otel.spans(), 'publish orders/created');
  expect(parentOf(publish)).toBe(http.spanContext().spanId);
  expect(traceIdOf(created.userProperties.traceparent)).toBe(http.spanContext().traceId);
});
