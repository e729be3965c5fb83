import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication, Module } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { Type } from 'class-transformer';
import { IsNumber, IsString, ValidateNested } from 'class-validator';
import {
  type AsyncApiDocument,
  type AsyncApiMessage,
  AsyncApiOperation,
  AsyncApiPublishes,
  ClientMqttAsync,
  createAsyncApiDocument,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { AppModule } from '../../../sample/app.module.js';
import { asyncApi3Validator } from './validate.js';

class Position {
  @IsNumber() lat!: number;
  @IsNumber() lon!: number;
}

class Fix {
  @IsString() tracker!: string;
  @ValidateNested()
  @Type(() => Position)
  position!: Position;
}

@Controller()
class EdgeCasesController {
  @EventPattern<string>('trackers/:trackerId/fix')
  @AsyncApiPublishes('trackers/{trackerId}/alerts', { payload: String, retain: true, qos: 0 })
  fix(@Payload() _fix: Fix) {}

  @EventPattern<string>('raw/+/bytes')
  bytes(@Payload() _b: Buffer) {}

  @EventPattern<string>('partial/{id}')
  partial(@Payload('value') _v: number) {}

  @MessagePattern('math/sum')
  @AsyncApiOperation({ payload: { type: 'array', items: { type: 'number' } }, reply: Number, description: 'Adds.' })
  sum(@Payload() numbers: number[]) {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('other/transport', Transport.TCP)
  other() {}
}

@Module({ controllers: [EdgeCasesController] })
class EdgeCasesModule {}

/** The message a `#/channels/<id>/messages/<key>` reference points to. */
function resolve(doc: AsyncApiDocument, ref: { $ref: string } | undefined): AsyncApiMessage {
  const [, channel, key] = /^#\/channels\/([^/]+)\/messages\/([^/]+)$/.exec(ref?.$ref ?? '') ?? [];
  const message = doc.channels[channel ?? '']?.messages[key ?? ''];
  if (!message) throw new Error(`no message at ${ref?.$ref}`);
  return message;
}

describe('createAsyncApiDocument', () => {
  const validate = asyncApi3Validator();
  let sample: INestApplication;
  let edge: INestApplication;
  let doc: AsyncApiDocument;

  beforeAll(async () => {
    const url = 'mqtt://127.0.0.1:1';
    sample = (
      await Test.createTestingModule({ imports: [AppModule.register({ url, protocolVersion: 5 })] }).compile()
    ).createNestApplication({ logger: false });
    edge = (await Test.createTestingModule({ imports: [EdgeCasesModule] }).compile()).createNestApplication({
      logger: false,
    });
    await Promise.all([sample.init(), edge.init()]);
    doc = await createAsyncApiDocument(sample, {
      title: 'Devices',
      version: '2.1.0',
      description: 'The sample',
      servers: {
        broker: new ServerMqttAsync({ url: 'mqtts://broker.example.com', protocolVersion: 5, clientId: 'svc' }),
      },
      parameters: { deviceId: 'The sensor' },
      channels: { 'devices/{id}/cmd': { title: 'Device commands', description: 'One topic per device' } },
    });
  });

  afterAll(async () => {
    await Promise.all([sample?.close(), edge?.close()]);
  });

  it('describes the sample and validates against the official AsyncAPI 3.0.0 schema', () => {
    expect(validate(doc)).toEqual([]);
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info).toEqual({ title: 'Devices', version: '2.1.0', description: 'The sample' });
    expect(Object.keys(doc.servers ?? {})).toEqual(['broker']); // explicit servers: the client's broker not added
    expect(doc.servers?.broker).toMatchObject({
      host: 'broker.example.com:8883',
      protocol: 'mqtts',
      protocolVersion: '5',
      bindings: { mqtt: { clientId: 'svc', bindingVersion: '0.2.0' } },
    });
    const addresses = Object.values(doc.channels).map((c) => c.address);
    expect(addresses).toEqual(
      expect.arrayContaining([
        'temperature-sensors/{deviceId}/temperature',
        'devices/{id}/cmd',
        'workers/jobs/#',
        'devices/events',
        null, // the dynamic reply channel of devices/{id}/cmd
      ]),
    );
  });

  it('gives channels their parameters and payload schemas from the @Payload() types', () => {
    const temperature = Object.values(doc.channels).find((c) => c.address?.startsWith('temperature-sensors/'));
    expect(temperature?.parameters).toEqual({ deviceId: { description: 'The sensor' } });
    expect(Object.values(temperature?.messages ?? {})[0]?.payload).toEqual({ type: 'number' });
    const cmd = Object.values(doc.channels).find((c) => c.address === 'devices/{id}/cmd');
    expect(cmd?.parameters).toEqual({ id: { description: "Topic level 'id'" } });
    expect(cmd).toMatchObject({ title: 'Device commands', description: 'One topic per device' });
    const request = Object.values(cmd?.messages ?? {})[0];
    expect(request?.payload).toEqual({ $ref: '#/components/schemas/CommandDto' });
    expect(request?.bindings?.mqtt).toMatchObject({
      contentType: 'application/json',
      responseTopic: { type: 'string' },
    });
    expect(doc.components?.schemas?.CommandDto).toMatchObject({
      type: 'object',
      properties: { op: { enum: ['reboot', 'ping', 'locate'] }, delaySeconds: { type: 'integer', minimum: 0 } },
      required: ['op'],
    });
    expect(doc.components?.schemas?.CommandResultDto).toBeDefined();
  });

  it('puts Response Topic and Correlation Data bindings on RPC requests and replies only', () => {
    const ops = Object.values(doc.operations);
    const command = ops.find((o) => o.title === 'DevicesController.command');
    const request = resolve(doc, command?.messages[0]);
    const reply = resolve(doc, command?.reply?.messages?.[0]);
    const correlationData = { type: 'string', format: 'binary', description: 'Echoed on the reply' };
    expect(request.bindings?.mqtt).toEqual({
      contentType: 'application/json',
      responseTopic: { type: 'string', description: 'Where the reply goes (MQTT 5 Response Topic)' },
      correlationData,
      bindingVersion: '0.2.0',
    });
    expect(reply.payload).toEqual({ $ref: '#/components/schemas/CommandResultDto' });
    expect(reply.bindings?.mqtt).toEqual({ contentType: 'application/json', correlationData, bindingVersion: '0.2.0' });
    const event = resolve(doc, ops.find((o) => o.title === 'DevicesController.temperature')?.messages[0]);
    expect(event.bindings?.mqtt).toEqual({ contentType: 'application/json', bindingVersion: '0.2.0' });
  });

  it('has receive operations for handlers with QoS, shared group and reply; send for replies and publishers', () => {
    const ops = Object.values(doc.operations);
    const job = ops.find((o) => o.title === 'JobsController.job');
    expect(job).toMatchObject({
      action: 'receive',
      bindings: { mqtt: { qos: 1, bindingVersion: '0.2.0' } },
      'x-mqtt-subscription': '$share/pool-a/workers/jobs/#',
      'x-mqtt-shared-group': 'pool-a',
      'x-mqtt-ack': 'manual',
      'x-mqtt-concurrency': 5,
    });
    expect(job?.description).toContain('Shared subscription group `pool-a`');
    const command = ops.find((o) => o.title === 'DevicesController.command');
    expect(command?.reply?.address?.location).toBe('$message.header#/responseTopic');
    expect(command?.summary).toContain('Send a command');
    const sends = ops.filter((o) => o.action === 'send').map((o) => o.channel.$ref);
    const replyChannel = command?.reply?.channel?.$ref;
    const eventsChannel = Object.entries(doc.channels).find(([, c]) => c.address === 'devices/events')?.[0];
    expect(sends).toEqual(expect.arrayContaining([replyChannel, `#/channels/${eventsChannel}`]));
    expect(doc.components?.schemas?.JobResultDto).toBeDefined();
  });

  it('covers :params, raw wildcards, binary payloads, nested DTOs, overrides and other transports', async () => {
    const edgeDoc = await createAsyncApiDocument(edge, {
      servers: { legacy: { url: 'mqtt://10.0.0.1', protocolVersion: 4 } },
      publishers: [{ topic: 'status/online', payload: Boolean, retain: true }],
    });
    expect(validate(edgeDoc)).toEqual([]);
    expect(edgeDoc.info.title).toBe('MQTT API');
    expect(edgeDoc.servers?.legacy).toMatchObject({ host: '10.0.0.1:1883', protocolVersion: '3.1.1' });
    const byAddress = (a: string) => Object.values(edgeDoc.channels).find((c) => c.address === a);
    expect(byAddress('trackers/{trackerId}/fix')?.parameters).toHaveProperty('trackerId');
    expect(byAddress('raw/+/bytes')).toBeDefined();
    expect(Object.values(byAddress('raw/+/bytes')?.messages ?? {})[0]).toMatchObject({
      contentType: 'application/octet-stream',
      payload: { type: 'string', format: 'binary' },
    });
    expect(Object.values(byAddress('partial/{id}')?.messages ?? {})[0]?.payload).toEqual({});
    expect(edgeDoc.components?.schemas?.Position).toBeDefined(); // reached only through Fix.position
    const alerts = Object.values(edgeDoc.operations).find((o) => o.channel.$ref.endsWith('trackers_trackerId_alerts'));
    expect(alerts).toMatchObject({ action: 'send', bindings: { mqtt: { qos: 0, retain: true } } });
    const sum = Object.values(edgeDoc.operations).find((o) => o.title === 'EdgeCasesController.sum');
    expect(sum?.description).toContain('Adds.');
    expect(byAddress('other/transport')).toBeUndefined();
    expect(byAddress('status/online')).toBeDefined();
  });

  it('the validator rejects what the MQTT binding schema does not allow', () => {
    const broken = structuredClone(doc);
    const op = Object.values(broken.operations)[0];
    if (op?.bindings) op.bindings.mqtt.responseTopic = 'x'; // allowed on messages, not on operations
    expect(validate(broken).length).toBeGreaterThan(0);
    expect(validate({ ...doc, asyncapi: '2.6.0' }).length).toBeGreaterThan(0);
  });
});

@Controller()
class SharedController {
  @EventPattern<string>('$share/pool/jobs/{id}')
  job() {}

  @MessagePattern({ cmd: 'price' })
  price() {
    return 1;
  }

  @EventPattern<string>('cache/flush', { shared: false })
  flush() {}
}

describe('createAsyncApiDocument with $share patterns and server-wide defaults', () => {
  it('addresses the real topic, subscribes as the server does (group, qos, ack)', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [SharedController] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const url = 'mqtt://broker.local:1884';
    app.connectMicroservice({ strategy: new ServerMqttAsync({ url, group: 'svc', qos: 2, ack: 'after' }) });
    try {
      const doc = await createAsyncApiDocument(app);
      const ops = Object.values(doc.operations) as unknown as Array<Record<string, unknown>>;
      const byTitle = (t: string) => ops.find((o) => o.title === t)!;
      expect(byTitle('SharedController.job')['x-mqtt-subscription']).toBe('$share/pool/jobs/+');
      expect(byTitle('SharedController.price')).toMatchObject({
        'x-mqtt-subscription': '$share/svc/{"cmd":"price"}',
        'x-mqtt-ack': 'after',
        bindings: { mqtt: { qos: 2 } },
      });
      expect(byTitle('SharedController.flush')['x-mqtt-subscription']).toBe('cache/flush');
      expect(Object.values(doc.channels).map((c) => c.address)).toContain('jobs/{id}');
    } finally {
      await app.close();
    }
  });
});

describe('createAsyncApiDocument and retries (issue 17)', () => {
  @Controller()
  class RetryingController {
    @EventPattern<string>('orders/{id}', { retry: { attempts: 5, delay: 200 } })
    order(@Payload() _o: unknown) {}

    @EventPattern<string>('audit/{id}')
    audit(@Payload() _a: unknown) {}

    @EventPattern<string>('metrics/{id}', { retry: false })
    metrics(@Payload() _m: unknown) {}

    @MessagePattern('quote')
    quote() {}
  }

  it('documents the retry policy of event handlers (own, or the server default) as x-mqtt-retry', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [RetryingController] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const strategy = new ServerMqttAsync({ url: 'mqtt://broker.local:1884', retry: { attempts: 3, backoff: 'fixed' } });
    app.connectMicroservice({ strategy });
    try {
      const doc = await createAsyncApiDocument(app);
      const ops = Object.values(doc.operations) as unknown as Array<Record<string, unknown>>;
      const byTitle = (t: string) => ops.find((o) => o.title === t)!;
      expect(byTitle('RetryingController.order')['x-mqtt-retry']).toEqual({
        attempts: 5,
        delay: 200,
        backoff: 'exponential',
        maxDelay: 30_000,
        jitter: false,
      });
      expect(byTitle('RetryingController.order').description).toContain('tried up to 5 times');
      expect(byTitle('RetryingController.audit')['x-mqtt-retry']).toMatchObject({ attempts: 3, backoff: 'fixed' });
      expect(byTitle('RetryingController.metrics')['x-mqtt-retry']).toBeUndefined();
      expect(byTitle('RetryingController.quote')['x-mqtt-retry']).toBeUndefined();
      expect(asyncApi3Validator()(doc)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('createAsyncApiDocument servers', () => {
  it("defaults to the app's own ServerMqttAsync strategies", async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [EdgeCasesController] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({ strategy: new ServerMqttAsync({ url: 'mqtt://broker.local:1884', protocolVersion: 4 }) });
    try {
      const doc = await createAsyncApiDocument(app);
      expect(doc.servers).toEqual({
        mqtt: {
          host: 'broker.local:1884',
          protocol: 'mqtt',
          protocolVersion: '3.1.1',
          bindings: { mqtt: { bindingVersion: '0.2.0' } },
        },
      });
      expect(asyncApi3Validator()(doc)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('adds the broker of each registered ClientMqttAsync (ClientsModule or provider) the servers do not describe', async () => {
    const clientOnTheServerBroker = new ClientMqttAsync({ url: 'mqtt://broker.local:1884', protocolVersion: 4 });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.register({ url: 'mqtt://events.local:1885', protocolVersion: 4 })], // EVENTS_CLIENT
      providers: [
        {
          provide: Symbol('audit'),
          useValue: new ClientMqttAsync({ url: 'mqtts://svc:s3cret@audit.example.com', clientId: 'audit' }),
        },
        { provide: 'SAME_BROKER', useFactory: () => clientOnTheServerBroker },
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({ strategy: new ServerMqttAsync({ url: 'mqtt://broker.local:1884', protocolVersion: 4 }) });
    try {
      const doc = await createAsyncApiDocument(app);
      const bindings = { mqtt: { bindingVersion: '0.2.0' } };
      const by = (name: string) =>
        `The broker of the ClientMqttAsync \`${name}\` (the app publishes and sends requests here).`;
      expect(doc.servers).toEqual({
        mqtt: { host: 'broker.local:1884', protocol: 'mqtt', protocolVersion: '3.1.1', bindings },
        EVENTS_CLIENT: {
          host: 'events.local:1885',
          protocol: 'mqtt',
          protocolVersion: '3.1.1',
          description: by('EVENTS_CLIENT'),
          bindings,
        },
        audit: {
          host: 'audit.example.com:8883',
          protocol: 'mqtts',
          protocolVersion: '5',
          description: by('audit'),
          bindings: { mqtt: { clientId: 'audit', bindingVersion: '0.2.0' } },
        },
      });
      expect(JSON.stringify(doc)).not.toContain('s3cret');
      expect(asyncApi3Validator()(doc)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
