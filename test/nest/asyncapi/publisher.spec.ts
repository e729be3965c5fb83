/**
 * Publications on the server's connection in the AsyncAPI document: `@MqttAsyncPublishes` on an HTTP controller
 * (class and method) and on a service, and `MqttAsyncPublisher.declare()`, each a `send` operation with its
 * channel, payload schema, QoS and retain; the document stays valid AsyncAPI 3.0.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller, type INestApplication, Injectable, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  type AsyncApiDocument,
  createAsyncApiDocument,
  MqttAsyncPublisher,
  MqttAsyncPublisherModule,
  MqttAsyncPublishes,
} from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { asyncApi3Validator } from './validate.js';

@Injectable()
@MqttAsyncPublishes('status/service', { payload: String, retain: true, qos: 1, summary: 'Service status' })
class StatusService {}

@Controller('orders')
class OrdersController {
  constructor(private readonly publisher: MqttAsyncPublisher) {}

  @Post()
  @MqttAsyncPublishes('orders/{orderId}/created', {
    payload: { type: 'object', properties: { orderId: { type: 'string' } } },
    qos: 2,
  })
  async create() {
    await this.publisher.publish('orders/1/created', { orderId: '1' });
  }
}

let broker: MqttAsyncTestBroker;
let app: INestApplication;
let doc: AsyncApiDocument;

beforeAll(async () => {
  broker = new MqttAsyncTestBroker();
  const server = broker.createServer();
  const moduleRef = await Test.createTestingModule({
    imports: [MqttAsyncPublisherModule.forServer(server)],
    controllers: [OrdersController],
    providers: [StatusService],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  app.get(MqttAsyncPublisher).declare('audit/{kind}', { payload: Number, qos: 0, description: 'Audit counters' });
  app.connectMicroservice({ strategy: server });
  await app.init();
  doc = await createAsyncApiDocument(app);
});
afterAll(async () => {
  await app?.close();
  await broker?.close();
});

function sendOperationOn(address: string) {
  const channelId = Object.entries(doc.channels).find(([, c]) => c.address === address)?.[0];
  const found = Object.entries(doc.operations).filter(
    ([, op]) => op.action === 'send' && op.channel.$ref === `#/channels/${channelId}`,
  );
  expect(found).toHaveLength(1);
  return { id: found[0]![0], operation: found[0]![1], channel: doc.channels[channelId!]! };
}

it('lists @MqttAsyncPublishes on a service class and a controller method as send operations', () => {
  const status = sendOperationOn('status/service');
  expect(status.id).toMatch(/^StatusService_publish/);
  expect(status.operation).toMatchObject({ summary: 'Service status', bindings: { mqtt: { qos: 1, retain: true } } });
  expect(Object.values(status.channel.messages)[0]?.payload).toEqual({ type: 'string' });

  const created = sendOperationOn('orders/{orderId}/created');
  expect(created.id).toMatch(/^OrdersController_create_publish/);
  expect(created.operation.bindings?.mqtt).toMatchObject({ qos: 2 });
  expect(created.channel.parameters).toHaveProperty('orderId');
});

it('lists MqttAsyncPublisher.declare() as a send operation', () => {
  const audit = sendOperationOn('audit/{kind}');
  expect(audit.operation).toMatchObject({ description: 'Audit counters', bindings: { mqtt: { qos: 0 } } });
  expect(Object.values(audit.channel.messages)[0]?.payload).toEqual({ type: 'number' });
});

it('is a valid AsyncAPI 3.0 document', () => {
  expect(asyncApi3Validator()(doc)).toEqual([]);
});
