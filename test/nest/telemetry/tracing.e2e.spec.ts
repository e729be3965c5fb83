/**
 * OpenTelemetry with the real SDK on mosquitto, MQTT 5 and 3.1.1: an HTTP request of a hybrid app → `send()` →
 * handler → reply is one trace (HTTP span → send → process → reply), an `emit()` is linked the same way, the
 * handler runs inside the CONSUMER span, errors are recorded, the metrics appear; `telemetry: false` is silent.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication, Inject, Param } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { lastValueFrom } from 'rxjs';
import { ClientMqttAsync, ServerMqttAsync } from '../../../lib/nest/index.js';
import { until } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { type Otel, parentOf, registerOtel, spanNamed } from './otel.js';

/** What the handlers saw as the active span. */
const seen: Record<string, string | undefined> = {};

@Controller()
class OrdersController {
  constructor(@Inject('ORDERS') private readonly client: ClientMqttAsync) {}

  @Get('orders/:id')
  get(@Param('id') id: string) {
    // Stands in for the HTTP instrumentation's SERVER span.
    return trace.getTracer('test-http').startActiveSpan('GET /orders/:id', { kind: SpanKind.SERVER }, async (span) => {
      try {
        this.client.emit('audit/orders', { id });
        return await lastValueFrom(this.client.send(`orders/${id}/get`, { id }));
      } finally {
        span.end();
      }
    });
  }

  @Get('fail')
  fail() {
    return trace.getTracer('test-http').startActiveSpan('GET /fail', async (span) => {
      try {
        return await lastValueFrom(this.client.send('orders/fail', 1)).catch((err: unknown) => ({ failed: err }));
      } finally {
        span.end();
      }
    });
  }

  @MessagePattern('orders/{id}/get')
  order(@Payload() body: { id: string }) {
    seen.order = trace.getActiveSpan()?.spanContext().spanId;
    return { id: body.id, total: 42 };
  }

  @MessagePattern('orders/fail')
  failing() {
    throw new Error('boom');
  }

  @EventPattern('audit/{kind}')
  audit(@Payload() event: unknown) {
    seen.auditPayload = JSON.stringify(event);
    seen.audit = trace.getActiveSpan()?.spanContext().spanId;
  }
}

describeMosquitto.each([5, 4] as const)('OpenTelemetry on mosquitto (protocol %s)', (protocolVersion) => {
  let otel: Otel;
  let mosquitto: MosquittoHandle;
  let app: INestApplication | undefined;
  let client: ClientMqttAsync | undefined;

  beforeAll(async () => {
    otel = registerOtel();
    mosquitto = await startMosquitto();
  });
  afterEach(async () => {
    await client?.close();
    await app?.close();
    app = undefined;
    otel.exporter.reset();
  });
  afterAll(async () => {
    await mosquitto?.stop();
    await otel?.shutdown();
  });

  async function start(telemetry?: false): Promise<INestApplication> {
    const url = mosquitto.url;
    const options = { url, protocolVersion, ...(telemetry === false ? { telemetry } : {}) };
    client = new ClientMqttAsync(options);
    const moduleRef = await Test.createTestingModule({
      controllers: [OrdersController],
      providers: [{ provide: 'ORDERS', useValue: client }],
    }).compile();
    const created = moduleRef.createNestApplication({ logger: false });
    created.connectMicroservice({ strategy: new ServerMqttAsync(options) });
    await created.startAllMicroservices();
    await created.listen(0, '127.0.0.1');
    await client.connect();
    app = created;
    return created;
  }

  async function get(path: string): Promise<unknown> {
    const { port } = (app as INestApplication).getHttpServer().address() as AddressInfo;
    return (await fetch(`http://127.0.0.1:${port}${path}`)).json();
  }

  const has = (name: string) => () => otel.spans().some((s) => s.name === name);

  it('HTTP → send() → handler → reply is one trace; emit() is linked the same way', async () => {
    await start();
    expect(await get('/orders/7')).toEqual({ id: '7', total: 42 });
    await until(has('process orders/{id}/get'), 5000, 'the consumer span');
    await until(has('process audit/{kind}'), 5000, 'the event consumer span');
    const spans = otel.spans();
    const http = spanNamed(spans, 'GET /orders/:id');
    const send = spanNamed(spans, 'send orders/7/get');
    const process = spanNamed(spans, 'process orders/{id}/get');
    const reply = spanNamed(spans, 'reply orders/{id}/get');
    for (const s of [send, process, reply]) expect(s.spanContext().traceId).toBe(http.spanContext().traceId);
    expect(parentOf(send)).toBe(http.spanContext().spanId);
    expect(parentOf(process)).toBe(send.spanContext().spanId);
    expect(parentOf(reply)).toBe(process.spanContext().spanId);
    expect(seen.order).toBe(process.spanContext().spanId);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(reply.kind).toBe(SpanKind.PRODUCER);
    // The send() span lasts until the final reply arrived.
    expect(hrMs(send.endTime)).toBeGreaterThanOrEqual(hrMs(reply.startTime));
    expect(process.attributes).toMatchObject({
      'messaging.system': 'mqtt',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'orders/7/get',
      'messaging.destination.template': 'orders/{id}/get',
      'mqtt.qos': expect.any(Number),
    });
    expect(typeof process.attributes['messaging.client.id']).toBe('string');
    expect(send.attributes).toMatchObject({
      'messaging.system': 'mqtt',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'orders/7/get',
    });

    const publish = spanNamed(spans, 'publish audit/orders');
    const audit = spanNamed(spans, 'process audit/{kind}');
    expect(parentOf(publish)).toBe(http.spanContext().spanId);
    expect(parentOf(audit)).toBe(publish.spanContext().spanId);
    expect(audit.attributes['messaging.destination.template']).toBe('audit/{kind}');
    expect(seen.audit).toBe(audit.spanContext().spanId);
    // The handler got the event's data, not the envelope with the trace fields.
    expect(seen.auditPayload).toBe(JSON.stringify({ id: '7' }));

    const names = await otel.metricNames();
    for (const name of [
      'messaging.client.sent.messages',
      'messaging.client.consumed.messages',
      'messaging.process.duration',
      'messaging.client.operation.duration',
      'nest_mqtt_async.connection.state',
      'nest_mqtt_async.messages.awaiting_ack',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('a failing handler: ERROR status and the exception on the consumer span and on the send() span', async () => {
    await start();
    const result = (await get('/fail')) as { failed?: unknown };
    expect(result.failed).toBeDefined();
    await until(has('process orders/fail'), 5000, 'the consumer span');
    const spans = otel.spans();
    const process = spanNamed(spans, 'process orders/fail');
    expect(process.status.code).toBe(SpanStatusCode.ERROR);
    expect(process.events.some((e) => e.name === 'exception')).toBe(true);
    const send = spanNamed(spans, 'send orders/fail');
    expect(send.status.code).toBe(SpanStatusCode.ERROR);
    expect(parentOf(process)).toBe(send.spanContext().spanId);
  });

  it('a send() nobody answers: ERROR span, request timeout counted; metric attributes name patterns', async () => {
    await start();
    const lonely = new ClientMqttAsync({ url: mosquitto.url, protocolVersion, requestTimeout: 200 });
    try {
      await expect(lastValueFrom(lonely.send('nobody/home', 1))).rejects.toThrow(/No reply/);
    } finally {
      await lonely.close();
    }
    const send = spanNamed(otel.spans(), 'send nobody/home');
    expect(send.status.code).toBe(SpanStatusCode.ERROR);
    expect(send.attributes['error.type']).toBe('MqttAsyncRequestTimeoutError');
    expect(await otel.metricNames()).toContain('nest_mqtt_async.request.timeouts');
    // Low cardinality: processing is recorded per handler pattern, never per topic.
    expect(await get('/orders/9')).toEqual({ id: '9', total: 42 });
    const metrics = (await otel.collect()).scopeMetrics.flatMap((scope) => scope.metrics);
    const processed = metrics.find((m) => m.descriptor.name === 'messaging.process.duration');
    const attributes = processed?.dataPoints.map((p) => p.attributes) ?? [];
    expect(attributes.length).toBeGreaterThan(0);
    for (const a of attributes) expect(a['messaging.destination.name']).toBeUndefined();
    expect(attributes.map((a) => a['messaging.destination.template'])).toContain('orders/{id}/get');
  });

  it('telemetry: false records nothing and carries no trace context', async () => {
    await start(false);
    seen.order = 'not run';
    expect(await get('/orders/8')).toEqual({ id: '8', total: 42 });
    await new Promise((r) => setImmediate(r));
    expect(otel.spans().map((s) => s.name)).toEqual(['GET /orders/:id']);
    // The handler ran without any active span: nothing was carried through the broker.
    expect(seen.order).toBeUndefined();
  });
});

function hrMs([s, ns]: [number, number]): number {
  return s * 1000 + ns / 1e6;
}
