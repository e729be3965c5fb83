import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
import { startAedes } from '../../support/aedes.js';
import { describeMosquitto, startMosquitto } from '../../support/mosquitto.js';
import { DevicesController } from '../server/app.fixture.js';

/** A ConfigService-like provider, as `registerAsync` factories usually inject. */
@Injectable()
class MqttConfig {
  constructor(
    @Inject('BROKER_URL') readonly url: string,
    @Inject('PROTOCOL_VERSION') readonly protocolVersion: 4 | 5,
  ) {}
  get(key: 'url' | 'protocolVersion'): string | 4 | 5 {
    return key === 'url' ? this.url : this.protocolVersion;
  }
}

@Injectable()
class DevicesGateway {
  constructor(@Inject('MQTT') readonly client: ClientProxy) {}
  reboot(id: string) {
    return firstValueFrom(this.client.send(`devices/${id}/cmd`, { op: 'reboot' }));
  }
}

interface BrokerCase {
  name: string;
  protocolVersion: 4 | 5;
  describe: typeof describe;
  start: () => Promise<{ url: string; stop(): Promise<void> }>;
}

/** The ClientsModule examples of docs/rpc.md on every broker and protocol the transport supports. */
const cases: BrokerCase[] = [
  { name: 'MQTT 5, mosquitto', protocolVersion: 5, describe: describeMosquitto, start: () => startMosquitto() },
  { name: 'MQTT 3.1.1, mosquitto', protocolVersion: 4, describe: describeMosquitto, start: () => startMosquitto() },
  { name: 'MQTT 3.1.1, aedes', protocolVersion: 4, describe, start: () => startAedes() },
];

/** The first message a fresh subscriber gets on `topic`: the retained one, if any. */
async function retainedOn(url: string, topic: string, protocolVersion: 4 | 5) {
  const late = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0 });
  try {
    const first = new Promise<mqtt.IPublishPacket>((resolve) => late.once('message', (_t, _p, p) => resolve(p)));
    await late.subscribeAsync(topic, { qos: 1 });
    return await first;
  } finally {
    await late.endAsync();
  }
}

for (const c of cases) {
  c.describe(`ClientMqttAsync wired the Nest ways (${c.name})`, () => {
    const { protocolVersion } = c;
    let broker: { url: string; stop(): Promise<void> };
    let server: INestMicroservice;
    const modules: TestingModule[] = [];

    beforeAll(async () => {
      broker = await c.start();
      const serverModule = await Test.createTestingModule({ controllers: [DevicesController] }).compile();
      server = serverModule.createNestMicroservice({
        strategy: new ServerMqttAsync({ url: broker.url, protocolVersion }),
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
          { name: 'MQTT', customClass: ClientMqttAsync, options: { url: broker.url, protocolVersion } },
        ]),
      ]);
      expect(gateway.client).toBeInstanceOf(ClientMqttAsync);
      expect(await gateway.reboot('t1')).toEqual({
        id: 't1',
        accepted: true,
        op: 'reboot',
        pattern: 'devices/{id}/cmd',
      });
      const observer = await mqtt.connectAsync(broker.url, { protocolVersion, reconnectPeriod: 0 });
      const received = new Promise<mqtt.IPublishPacket>((resolve) =>
        observer.once('message', (_t, _p, p) => resolve(p)),
      );
      await observer.subscribeAsync('devices/t1/events', { qos: 1 });
      const record = new MqttAsyncRecordBuilder({ v: 1 })
        .setQos(1)
        .setRetain(true)
        .setUserProperties({ k: 'v' })
        .build();
      await lastValueFrom(gateway.client.emit('devices/t1/events', record));
      const packet = await received;
      expect(packet.qos).toBe(1);
      if (protocolVersion === 5) {
        expect(JSON.parse(packet.payload.toString())).toEqual({ v: 1 });
        expect(packet.properties?.userProperties).toEqual({ k: 'v' });
      } else {
        // 3.1.1: events travel in Nest's wire format (so Nest's ServerMqtt can consume them); no properties exist.
        expect(JSON.parse(packet.payload.toString())).toEqual({ pattern: 'devices/t1/events', data: { v: 1 } });
        expect(packet.properties?.userProperties).toBeUndefined();
      }
      const retained = await retainedOn(broker.url, 'devices/t1/events', protocolVersion);
      expect(retained.retain).toBe(true);
      expect(retained.payload.toString()).toBe(packet.payload.toString());
      await observer.publishAsync('devices/t1/events', '', { retain: true, qos: 1 });
      await observer.endAsync();
    });

    it('ClientsModule.registerAsync with useFactory injecting a config provider', async () => {
      @Module({
        providers: [
          { provide: 'BROKER_URL', useValue: broker.url },
          { provide: 'PROTOCOL_VERSION', useValue: protocolVersion },
          MqttConfig,
        ],
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
              options: { url: config.get('url') as string, protocolVersion: config.get('protocolVersion') as 4 | 5 },
            }),
          },
        ]),
      ]);
      expect(gateway.client).toBeInstanceOf(ClientMqttAsync);
      expect(await gateway.reboot('t2')).toMatchObject({ id: 't2', accepted: true });
      // the factory's options reached the driver (lazy: connected by the send above)
      expect(gateway.client.unwrap<{ protocolVersion: number }>().protocolVersion).toBe(protocolVersion);
    });

    it('constructed by hand, validation errors arrive as errors', async () => {
      const client = new ClientMqttAsync({ url: broker.url, protocolVersion });
      try {
        expect(await firstValueFrom(client.send('devices/t3/cmd', { op: 'ping' }))).toMatchObject({ id: 't3' });
        expect(client.unwrap<{ protocolVersion: number }>().protocolVersion).toBe(protocolVersion);
        await expect(firstValueFrom(client.send('devices/t3/cmd', { op: 'format' }))).rejects.toMatchObject({
          status: 'error',
          statusCode: 400,
        });
      } finally {
        await client.close();
      }
    });
  });
}
