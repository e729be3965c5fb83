import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type INestMicroservice, Inject, Injectable, Module } from '@nestjs/common';
import { type ClientProxy, ClientsModule } from '@nestjs/microservices';
import { Test, type TestingModule } from '@nestjs/testing';
import mqtt from 'mqtt';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import {
  ClientMqttAsync,
  MqttAsyncExceptionFilter,
  MqttAsyncRecordBuilder,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { DevicesController } from '../server/app.fixture.js';

/** A ConfigService-like provider, as `registerAsync` factories usually inject. */
@Injectable()
class MqttConfig {
  constructor(@Inject('BROKER_URL') readonly url: string) {}
  get(key: 'url' | 'protocolVersion'): string | 5 {
    return key === 'url' ? this.url : 5;
  }
}

@Injectable()
class DevicesGateway {
  constructor(@Inject('MQTT') readonly client: ClientProxy) {}
  reboot(id: string) {
    return firstValueFrom(this.client.send(`devices/${id}/cmd`, { op: 'reboot' }));
  }
}

describeMosquitto('ClientMqttAsync wired the Nest ways (MQTT 5, mosquitto)', () => {
  let broker: MosquittoHandle;
  let server: INestMicroservice;
  const modules: TestingModule[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    const serverModule = await Test.createTestingModule({ controllers: [DevicesController] }).compile();
    server = serverModule.createNestMicroservice({
      strategy: new ServerMqttAsync({ url: broker.url, protocolVersion: 5 }),
      logger: false,
    });
    server.useGlobalFilters(new MqttAsyncExceptionFilter());
    await server.listen();
  });

  afterAll(async () => {
    for (const moduleRef of modules) await moduleRef.close();
    await server?.close();
    await broker?.stop();
  });

  async function compile(imports: NonNullable<Parameters<typeof Module>[0]>['imports']): Promise<DevicesGateway> {
    const moduleRef = await Test.createTestingModule({ imports, providers: [DevicesGateway] }).compile();
    modules.push(moduleRef);
    await moduleRef.init();
    return moduleRef.get(DevicesGateway);
  }

  it('ClientsModule.register with customClass: send() and emit() with a record', async () => {
    const gateway = await compile([
      ClientsModule.register([
        { name: 'MQTT', customClass: ClientMqttAsync, options: { url: broker.url, protocolVersion: 5 } },
      ]),
    ]);
    expect(gateway.client).toBeInstanceOf(ClientMqttAsync);
    expect(await gateway.reboot('t1')).toEqual({
      id: 't1',
      accepted: true,
      op: 'reboot',
      pattern: 'devices/{id}/cmd',
    });
    const observer = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const received = new Promise<mqtt.IPublishPacket>((resolve) => observer.once('message', (_t, _p, p) => resolve(p)));
    await observer.subscribeAsync('devices/t1/events', { qos: 1 });
    const record = new MqttAsyncRecordBuilder({ v: 1 }).setQos(1).setRetain(true).setUserProperties({ k: 'v' }).build();
    await lastValueFrom(gateway.client.emit('devices/t1/events', record));
    const packet = await received;
    expect(JSON.parse(packet.payload.toString())).toEqual({ v: 1 });
    expect(packet.properties?.userProperties).toEqual({ k: 'v' });
    await observer.publishAsync('devices/t1/events', '', { retain: true, qos: 1 });
    await observer.endAsync();
  });

  it('ClientsModule.registerAsync with useFactory injecting a config provider', async () => {
    @Module({
      providers: [{ provide: 'BROKER_URL', useValue: broker.url }, MqttConfig],
      exports: [MqttConfig],
    })
    class ConfigModule {}
    const gateway = await compile([
      ClientsModule.registerAsync([
        {
          name: 'MQTT',
          imports: [ConfigModule],
          inject: [MqttConfig],
          useFactory: (config: MqttConfig) => ({
            customClass: ClientMqttAsync,
            options: { url: config.get('url'), protocolVersion: config.get('protocolVersion') },
          }),
        },
      ]),
    ]);
    expect(gateway.client).toBeInstanceOf(ClientMqttAsync);
    expect(await gateway.reboot('t2')).toMatchObject({ id: 't2', accepted: true });
  });

  it('constructed by hand, validation errors arrive as errors', async () => {
    const client = new ClientMqttAsync({ url: broker.url, protocolVersion: 5 });
    try {
      expect(await firstValueFrom(client.send('devices/t3/cmd', { op: 'ping' }))).toMatchObject({ id: 't3' });
      await expect(firstValueFrom(client.send('devices/t3/cmd', { op: 'format' }))).rejects.toMatchObject({
        status: 'error',
        statusCode: 400,
      });
    } finally {
      await client.close();
    }
  });
});
