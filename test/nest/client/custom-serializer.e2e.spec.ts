import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { type Deserializer, EventPattern, MessagePattern, Payload, type Serializer } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import mqtt from 'mqtt';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import type { MqttMessage } from '../../../lib/driver/index.js';
import { ClientMqttAsync, ServerMqttAsync } from '../../../lib/nest/index.js';
import { startAedes } from '../../support/aedes.js';
import { hasMosquitto, itIf, startMosquitto } from '../../support/mosquitto.js';
import { Inbox } from '../interop/fixtures.js';

/** A binary framing: one version byte, then JSON. Foreign systems see bytes, never our envelope. */
const VERSION = 0x07;
const frame = (value: unknown) => Buffer.concat([Buffer.from([VERSION]), Buffer.from(JSON.stringify(value) ?? 'null')]);
function unframe(message: MqttMessage): unknown {
  if (message.payload[0] !== VERSION) throw new Error(`unknown frame version ${message.payload[0]}`);
  return JSON.parse(message.payload.subarray(1).toString());
}
type Ctx = { channel: string; message: MqttMessage };

/** Client: the request's `data` (and `id` in the Nest wire format) into a frame; replies out of frames. */
class FramedClientSerializer implements Serializer {
  serialize(packet: { pattern: string; data: unknown; id?: string }) {
    return frame(packet.id === undefined ? { data: packet.data } : { data: packet.data, id: packet.id });
  }
}
class FramedClientDeserializer implements Deserializer {
  deserialize(_value: unknown, { message }: Ctx) {
    return unframe(message) as { id?: string; response?: unknown; err?: unknown; isDisposed?: boolean };
  }
}
/** Server: frames into Nest packets; Nest response packets into frames. */
class FramedServerDeserializer implements Deserializer {
  deserialize(_value: unknown, { channel, message }: Ctx) {
    const { data, id } = unframe(message) as { data: unknown; id?: string };
    return { pattern: channel, data, id };
  }
}
class FramedServerSerializer implements Serializer {
  serialize(packet: { id?: string; response?: unknown; err?: unknown; isDisposed: boolean }) {
    return frame(packet);
  }
}

const inbox = new Inbox();

@Controller()
class FramedController {
  @MessagePattern('framed/double')
  double(@Payload() n: number) {
    if (n < 0) throw new Error('negative');
    return { doubled: n * 2 };
  }

  @EventPattern('framed/events')
  event(@Payload() data: unknown) {
    inbox.push('framed/events', data);
  }
}

const cases = [
  { name: 'MQTT 5 on mosquitto', available: hasMosquitto, protocolVersion: 5 as const, start: () => startMosquitto() },
  {
    name: 'MQTT 3.1.1 (Nest wire format) on aedes',
    available: true,
    protocolVersion: 4 as const,
    start: () => startAedes(),
  },
];

describe.each(cases)('custom serializer and deserializer on both sides, $name', (c) => {
  const maybe = itIf(c.available, 'mosquitto');
  let stop: () => Promise<void>;
  let url: string;
  let app: INestMicroservice;
  let client: ClientMqttAsync;

  beforeAll(async () => {
    if (!c.available) return;
    const broker = await c.start();
    stop = () => broker.stop();
    url = broker.url;
    const moduleRef = await Test.createTestingModule({ controllers: [FramedController] }).compile();
    const strategy = new ServerMqttAsync({
      url,
      protocolVersion: c.protocolVersion,
      serializer: new FramedServerSerializer(),
      deserializer: new FramedServerDeserializer(),
    });
    app = moduleRef.createNestMicroservice({ strategy, logger: false });
    await app.listen();
    client = new ClientMqttAsync({
      url,
      protocolVersion: c.protocolVersion,
      serializer: new FramedClientSerializer(),
      deserializer: new FramedClientDeserializer(),
    });
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await stop?.();
  });

  maybe('send() round-trips through both codecs; errors too', async () => {
    expect(await firstValueFrom(client.send('framed/double', 21))).toEqual({ doubled: 42 });
    await expect(firstValueFrom(client.send('framed/double', -1))).rejects.toEqual({
      status: 'error',
      message: 'Internal server error',
    });
  });

  maybe(
    'emit() goes through the client serializer and the server deserializer; the wire carries the frame',
    async () => {
      inbox.reset();
      const spy = await mqtt.connectAsync(url, { protocolVersion: c.protocolVersion, reconnectPeriod: 0 });
      try {
        const onWire = new Promise<Buffer>((resolve) => spy.once('message', (_t, payload) => resolve(payload)));
        await spy.subscribeAsync('framed/events', { qos: 1 });
        await lastValueFrom(client.emit('framed/events', { data: 'a foreign data key', n: 1 }));
        expect((await onWire)[0]).toBe(VERSION);
        const expected = { topic: 'framed/events', data: { data: 'a foreign data key', n: 1 } };
        expect(await inbox.waitFor(1)).toEqual([expected]);
      } finally {
        await spy.endAsync();
      }
    },
  );
});
