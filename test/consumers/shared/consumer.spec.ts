/**
 * What a user's app does with the packed package, in that app's own test runner (Jest CJS, Jest ESM or Vitest:
 * `describe`/`it`/`expect` are the runner's globals, as the Nest CLI scaffolds them). test/consumers/run.sh copies
 * this file into each fixture; MQTT_URL is the mosquitto that run.sh started.
 */
import 'reflect-metadata';
import { Controller, type INestApplication, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { AsyncApiModule, ClientMqttAsync, createAsyncApiDocument, ServerMqttAsync, TopicParam } from 'nest-mqtt-async';
import { encodePacket, PacketDecoder } from 'nest-mqtt-async/codec';
import { connect } from 'nest-mqtt-async/driver';
import { MqttAsyncTestBroker } from 'nest-mqtt-async/testing';
import { firstValueFrom, lastValueFrom } from 'rxjs';

const received: Array<{ site: string; reading: unknown }> = [];

@Controller()
class DevicesController {
  @MessagePattern('devices/{id}/cmd', { qos: 1 })
  command(@Payload() cmd: { op: string }, @TopicParam('id') id: string) {
    return { id, op: cmd.op, accepted: cmd.op === 'reboot' };
  }

  @EventPattern<string>('sites/{site}/readings', { qos: 1 })
  reading(@Payload() reading: unknown, @TopicParam('site') site: string) {
    received.push({ site, reading });
  }
}

@Module({ controllers: [DevicesController] })
class AppModule {}

/** Waits until `check()` is true; fails after `ms`. */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('nest-mqtt-async in this app', () => {
  beforeEach(() => {
    received.length = 0;
  });

  it('in-memory broker (nest-mqtt-async/testing): RPC with params and an event', async () => {
    const broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestMicroservice({ strategy: broker.createServer(), logger: false });
    await app.listen();
    try {
      expect(await broker.request('devices/d1/cmd', { op: 'reboot' })).toEqual({
        id: 'd1',
        op: 'reboot',
        accepted: true,
      });
      await broker.publish('sites/paris/readings', { co2: 400 });
      expect(received).toEqual([{ site: 'paris', reading: { co2: 400 } }]);
      const client = broker.createClient();
      expect(await firstValueFrom(client.send('devices/d2/cmd', { op: 'ping' }))).toEqual({
        id: 'd2',
        op: 'ping',
        accepted: false,
      });
      await lastValueFrom(client.emit('sites/oslo/readings', 7));
      await broker.settled();
      expect(received).toContainEqual({ site: 'oslo', reading: 7 });
    } finally {
      await app.close();
      await broker.close();
    }
  });

  for (const protocolVersion of [5, 4] as const) {
    it(`mosquitto, MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: RPC with params and an event round trip`, async () => {
      const url = process.env.MQTT_URL;
      if (!url) throw new Error('MQTT_URL is not set: run this through test/consumers/run.sh');
      const app = await NestFactory.createMicroservice(AppModule, {
        strategy: new ServerMqttAsync({ url, protocolVersion }),
        logger: false,
      });
      await app.listen();
      const client = new ClientMqttAsync({ url, protocolVersion });
      try {
        await client.connect();
        const reply = await firstValueFrom(client.send('devices/m1/cmd', { op: 'reboot' }));
        expect(reply).toEqual({ id: 'm1', op: 'reboot', accepted: true });
        await lastValueFrom(client.emit('sites/rome/readings', { v: protocolVersion }));
        await until(() => received.length === 1);
        expect(received).toEqual([{ site: 'rome', reading: { v: protocolVersion } }]);
      } finally {
        await client.close();
        await app.close();
      }
    });
  }

  it('the driver entry point (nest-mqtt-async/driver) talks to mosquitto', async () => {
    const url = process.env.MQTT_URL;
    if (!url) throw new Error('MQTT_URL is not set: run this through test/consumers/run.sh');
    const mqtt = await connect(url, { protocolVersion: 5 });
    try {
      const sub = await mqtt.subscribe('driver/check', { qos: 1 });
      await mqtt.publish('driver/check', 'hello', { qos: 1 });
      for await (const message of sub) {
        expect(message.payload.toString()).toBe('hello');
        break;
      }
    } finally {
      await mqtt.disconnect();
    }
  });

  it('the codec entry point (nest-mqtt-async/codec) round-trips a PUBLISH', () => {
    const bytes = encodePacket(
      { type: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false },
      5,
    );
    const [packet] = new PacketDecoder({ protocolVersion: 5 }).push(bytes);
    expect(packet).toMatchObject({ type: 'publish', topic: 'a/b' });
  });

  it('AsyncAPI docs without the optional peers: a startup warning naming the package, no 500', async () => {
    const warnings: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => {
        warnings.push(String(message));
      },
    };
    const app: INestApplication = await NestFactory.create(AppModule, { logger });
    try {
      const document = await createAsyncApiDocument(app, { title: 'Devices', version: '1.0.0' });
      AsyncApiModule.setup('docs', app, document);
      expect(warnings.join('\n')).toContain('npm install @asyncapi/react-component');
      await app.listen(0, '127.0.0.1');
      const base = await app.getUrl();
      const page = await fetch(`${base}/docs`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('@asyncapi/react-component');
      const json = await fetch(`${base}/docs.json`);
      expect(((await json.json()) as { asyncapi: string }).asyncapi).toBe('3.0.0');
    } finally {
      await app.close();
    }
  });
});
