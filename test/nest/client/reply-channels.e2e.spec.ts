import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import mqtt from 'mqtt';
import { lastValueFrom } from 'rxjs';
import { connect, type MqttDriverClient, type MqttMessage } from '../../../lib/driver/index.js';
import { NestReplyChannels } from '../../../lib/nest/client/reply-channels.js';
import { ClientMqttAsync } from '../../../lib/nest/index.js';
import { type AedesHandle, startAedes } from '../../support/aedes.js';

describe('Nest wire format details on aedes 3.1.1', () => {
  let broker: AedesHandle;
  let client: MqttDriverClient;

  beforeAll(async () => {
    broker = await startAedes();
    client = await connect(broker.url, { protocolVersion: 4 });
  });

  afterAll(async () => {
    await client?.disconnect();
    await broker?.stop();
  });

  it('a reply topic unsubscribed and subscribed again at once still gets its replies (waits for UNSUBACK)', async () => {
    const received: string[] = [];
    let wake = () => {};
    // No idle channel kept: every release unsubscribes, every acquire subscribes again.
    const channels = new NestReplyChannels(
      client,
      async (message: MqttMessage) => {
        received.push(message.payload.toString());
        wake();
      },
      0,
    );
    const responder = await connect(broker.url, { protocolVersion: 4 });
    for (let i = 0; i < 10; i++) {
      await channels.acquire('rc/t/reply');
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await responder.publish('rc/t/reply', `r${i}`, { qos: 1 });
      await arrived;
      channels.release('rc/t/reply');
    }
    expect(received).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    expect(channels.size).toBe(0);
    await responder.disconnect();
  });

  it('nestWireFormat: false on 3.1.1 emits bare payloads for consumers that are not Nest services', async () => {
    const spy = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const bare = new ClientMqttAsync({ url: broker.url, protocolVersion: 4, nestWireFormat: false });
    const wrapped = new ClientMqttAsync({ url: broker.url, protocolVersion: 4 });
    try {
      const payloads: string[] = [];
      const two = new Promise<void>((resolve) =>
        spy.on('message', (_t, payload) => {
          payloads.push(payload.toString());
          if (payloads.length === 2) resolve();
        }),
      );
      await spy.subscribeAsync('rc/events', { qos: 1 });
      await lastValueFrom(bare.emit('rc/events', { on: true }));
      await lastValueFrom(wrapped.emit('rc/events', { on: true }));
      await two;
      expect(payloads.map((p) => JSON.parse(p))).toEqual(
        expect.arrayContaining([{ on: true }, { pattern: 'rc/events', data: { on: true } }]),
      );
    } finally {
      await bare.close();
      await wrapped.close();
      await spy.endAsync();
    }
  });
});
