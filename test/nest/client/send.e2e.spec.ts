import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { firstValueFrom, toArray } from 'rxjs';
import type { MqttDriverClient } from '../../../lib/driver/index.js';
import { ClientMqttAsync } from '../../../lib/nest/client/index.js';
import { describeIf, hasMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { testConnector } from '../server/support/connector.js';

const suite = describeIf(hasMosquitto, 'mosquitto');

suite('ClientMqttAsync send() on MQTT 5 against a plain responder', () => {
  let broker: MosquittoHandle;
  let responder: MqttDriverClient;
  let client: ClientMqttAsync;

  beforeAll(async () => {
    broker = await startMosquitto();
    responder = await testConnector(broker.url, { protocolVersion: 5 });
    const sub = await responder.subscribe('math/+', { qos: 1 });
    void (async () => {
      for await (const m of sub) {
        if (m.topic === 'math/silent') continue;
        const { a, b } = JSON.parse(m.payload.toString()) as { a: number; b: number };
        await responder.publish(m.properties.responseTopic as string, JSON.stringify(a + b), {
          qos: 1,
          properties: {
            correlationData: m.properties.correlationData,
            contentType: 'application/json',
          },
        });
      }
    })();
    client = new ClientMqttAsync({ url: broker.url, protocolVersion: 5, connector: testConnector });
  });

  afterAll(async () => {
    await client?.close();
    await responder?.disconnect();
    await broker?.stop();
  });

  it('gets the reply correlated to its request (lazy connect)', async () => {
    const replies = await firstValueFrom(client.send('math/sum', { a: 1, b: 2 }).pipe(toArray()));
    expect(replies).toEqual([3]);
  });

  it('close() rejects a pending send instead of leaving it hanging', async () => {
    const pending = expect(firstValueFrom(client.send('math/silent', { a: 1, b: 1 }))).rejects.toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 200));
    await client.close();
    await pending;
  });
});
