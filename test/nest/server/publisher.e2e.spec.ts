/**
 * Issue 17 "Publishing on the server's own connection": `MqttAsyncPublisher` injected into an HTTP controller of a
 * hybrid app and into an MQTT handler publishes through the `ServerMqttAsync` connection — on mosquitto (MQTT 5 and
 * 3.1.1, through a proxy that counts TCP connections: exactly one) and on the in-memory broker (every publish from
 * the server's one client id). Records, QoS, retain and MQTT 5 properties are those of `emit()`.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, type INestApplication, Param, Post } from '@nestjs/common';
import { Ctx, EventPattern, MqttRecordBuilder, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { connect, type MqttDriverClient, type MqttMessage } from '../../../lib/driver/index.js';
import {
  type MqttAsyncContext,
  MqttAsyncPublisher,
  MqttAsyncPublisherModule,
  MqttAsyncRecordBuilder,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { type OutageProxy, startOutageProxy } from '../../support/outage-proxy.js';

@Controller()
class OrdersHttpController {
  constructor(private readonly publisher: MqttAsyncPublisher) {}

  @Post('orders/:id')
  async create(@Param('id') id: string, @Body() body: { item: string }) {
    const record = new MqttAsyncRecordBuilder({ id, ...body }).setQos(1).setUserProperties({ source: 'http' }).build();
    const result = await this.publisher.publish(`shop/orders/${id}/created`, record);
    return { published: true, reasonCode: result.reasonCode };
  }

  @Post('status')
  async status(@Body() body: { text: string }) {
    // Nest's own MqttRecord (code written for ClientMqtt) and the options argument: retained at QoS 0.
    await this.publisher.publish('shop/status', new MqttRecordBuilder(body.text).setQoS(1).build(), {
      qos: 0,
      retain: true,
    });
    return { published: true };
  }
}

@Controller()
class OrdersMqttController {
  constructor(private readonly publisher: MqttAsyncPublisher) {}

  @EventPattern<string>('shop/orders/{id}/created')
  async created(@Payload() order: { id: string; item: string }, @Ctx() ctx: MqttAsyncContext) {
    await this.publisher.publish(`shop/orders/${ctx.getParams().id}/shipped`, { ...order, shipped: true });
  }
}

async function startHybrid(server: ServerMqttAsync): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [MqttAsyncPublisherModule.forServer(server)],
    controllers: [OrdersHttpController, OrdersMqttController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.connectMicroservice({ strategy: server });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  return app;
}

async function post(app: INestApplication, path: string, body: unknown): Promise<unknown> {
  const { port } = app.getHttpServer().address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

/** The JSON of a message, unwrapping Nest's `{pattern,data}` envelope (events on 3.1.1). */
function dataOf(message: MqttMessage): unknown {
  if (message.properties.contentType?.startsWith('text/')) return message.payload.toString();
  const json = JSON.parse(message.payload.toString()) as { pattern?: string; data?: unknown };
  return message.properties.contentType === undefined && json.pattern !== undefined ? json.data : json;
}

describeMosquitto.each([5, 4] as const)('MqttAsyncPublisher on mosquitto (protocol %s)', (protocolVersion) => {
  let mosquitto: MosquittoHandle;
  let proxy: OutageProxy;
  let app: INestApplication | undefined;
  let observer: MqttDriverClient | undefined;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterEach(async () => {
    await app?.close();
    await observer?.disconnect();
    await proxy?.stop();
    app = undefined;
    observer = undefined;
  });
  afterAll(async () => {
    await mosquitto?.stop();
  });

  it('publishes from an HTTP controller and from a handler on the one server connection', async () => {
    proxy = await startOutageProxy(mosquitto.port);
    observer = await connect(mosquitto.url, { protocolVersion });
    const orders = await observer.subscribe('shop/orders/+/+', { qos: 1 });
    const server = new ServerMqttAsync({ url: proxy.url, protocolVersion, clientId: `svc-${protocolVersion}` });
    app = await startHybrid(server);

    expect(await post(app, '/orders/7', { item: 'book' })).toEqual({ published: true, reasonCode: 0 });
    const [created, shipped] = await take(orders, 2);
    expect(created?.topic).toBe('shop/orders/7/created');
    expect(created?.qos).toBe(1);
    expect(dataOf(created!)).toEqual({ id: '7', item: 'book' });
    if (protocolVersion === 5) expect(created?.userProperties.source).toBe('http');
    expect(shipped?.topic).toBe('shop/orders/7/shipped');
    expect(dataOf(shipped!)).toEqual({ id: '7', item: 'book', shipped: true });
    // One TCP connection through the proxy: the server's; no second client (nestjs/nest#8804).
    expect(proxy.accepted).toBe(1);
  });

  it("retain, QoS and Nest's MqttRecord, with the options argument winning over the record's", async () => {
    proxy = await startOutageProxy(mosquitto.port);
    const server = new ServerMqttAsync({ url: proxy.url, protocolVersion });
    app = await startHybrid(server);
    expect(await post(app, '/status', { text: 'open' })).toEqual({ published: true });
    observer = await connect(mosquitto.url, { protocolVersion });
    const [status] = await take(await observer.subscribe('shop/status', { qos: 1 }), 1);
    expect(status?.retain).toBe(true);
    expect(status?.qos).toBe(0);
    expect(dataOf(status!)).toBe('open');
    await server.publish('shop/status', '', { retain: true, qos: 1 }); // clear the retained message
  });
});

describe('MqttAsyncPublisher on the in-memory broker', () => {
  let broker: MqttAsyncTestBroker;
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    await broker?.close();
    app = undefined;
  });

  it.each([5, 4] as const)('HTTP controller and handler publish as the server client id (protocol %s)', async (v) => {
    broker = new MqttAsyncTestBroker({ protocolVersion: v });
    const server = broker.createServer({ clientId: 'orders-service' });
    app = await startHybrid(server);
    await post(app, '/orders/9', { item: 'pen' });
    const shipped = await broker.waitFor('shop/orders/9/shipped');
    expect(shipped.payload).toEqual(v === 5 ? { id: '9', item: 'pen', shipped: true } : expect.anything());
    const ours = broker.published('shop/#');
    expect(ours.map((r) => r.topic)).toEqual(['shop/orders/9/created', 'shop/orders/9/shipped']);
    expect(new Set(ours.map((r) => r.clientId))).toEqual(new Set(['orders-service']));
    expect(server.unwrap().clientId).toBe('orders-service');
  });

  it('forRoot() publishes through the server listening in the process; before listen() it fails at once', async () => {
    broker = new MqttAsyncTestBroker();
    const unbound = new MqttAsyncPublisher();
    await expect(unbound.publish('a', 1)).rejects.toMatchObject({
      name: 'MqttAsyncNotConnectedError',
      status: 'disconnected',
      message: expect.stringMatching(/No ServerMqttAsync is listening/),
    });
    const server = broker.createServer();
    await expect(server.publish('a', 1)).rejects.toMatchObject({
      name: 'MqttAsyncNotConnectedError',
      message: expect.stringMatching(/not listening yet/),
    });
    const moduleRef = await Test.createTestingModule({ imports: [MqttAsyncPublisherModule.forRoot()] }).compile();
    const micro = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await micro.listen();
    try {
      const publisher = micro.get(MqttAsyncPublisher);
      await publisher.publish('via/root', { n: 1 });
      expect((await broker.waitFor('via/root')).payload).toEqual({ n: 1 });
    } finally {
      await micro.close();
    }
    await expect(unbound.publish('a', 1)).rejects.toThrow(/No ServerMqttAsync is listening/);
  });

  it('forServerAsync() makes the server in the container and provides it', async () => {
    broker = new MqttAsyncTestBroker();
    const moduleRef = await Test.createTestingModule({
      imports: [MqttAsyncPublisherModule.forServerAsync({ useFactory: () => broker.createServer() })],
    }).compile();
    const http = moduleRef.createNestApplication({ logger: false });
    http.connectMicroservice({ strategy: http.get(ServerMqttAsync) });
    await http.startAllMicroservices();
    await http.init();
    app = http;
    await http.get(MqttAsyncPublisher).publish('via/factory', 'x');
    expect((await broker.waitFor('via/factory')).clientId).toBe(http.get(ServerMqttAsync).unwrap().clientId);
  });
});
