import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import mqtt, { type MqttClient } from 'mqtt';
import { ClientMqttAsync } from '../../../lib/nest/client/index.js';
import { MqttAsyncRecordBuilder } from '../../../lib/nest/record/index.js';
import { hasMosquitto, type RunningBroker, startMosquitto } from '../server/support/broker.js';
import { testConnector } from '../server/support/connector.js';

if (!hasMosquitto) console.warn('SKIPPED: /usr/sbin/mosquitto is absent');
const suite = hasMosquitto ? describe : describe.skip;

suite('ClientMqttAsync emit() with a record, observed by MQTT.js', () => {
  let broker: RunningBroker;
  let observer: MqttClient;
  let client: ClientMqttAsync;

  beforeAll(async () => {
    broker = await startMosquitto();
    observer = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    await observer.subscribeAsync('events/#', { qos: 1 });
    client = new ClientMqttAsync({ url: broker.url, protocolVersion: 5, connector: testConnector });
  });

  afterAll(async () => {
    await client?.close();
    await observer?.endAsync();
    await broker?.stop();
  });

  it('publishes with the qos, retain and user properties of the record', async () => {
    const received = new Promise<{ payload: string; packet: mqtt.IPublishPacket }>((resolve) =>
      observer.once('message', (_t, payload, packet) => resolve({ payload: payload.toString(), packet })),
    );
    const record = new MqttAsyncRecordBuilder({ n: 1 }).setQos(1).setRetain(true).setUserProperties({ k: 'v' }).build();
    await client.connect();
    client.emit('events/a', record).subscribe();
    const { payload, packet } = await received;
    expect(JSON.parse(payload)).toEqual({ n: 1 });
    expect(packet.qos).toBe(1);
    expect(packet.properties?.userProperties).toEqual({ k: 'v' });
    expect(packet.properties?.contentType).toBe('application/json');
    const retained = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const again = new Promise<boolean>((resolve) => retained.once('message', (_t, _p, p) => resolve(p.retain)));
    await retained.subscribeAsync('events/a');
    expect(await again).toBe(true);
    await retained.endAsync();
  });
});
