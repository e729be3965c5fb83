import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { firstValueFrom, toArray } from 'rxjs';
import type { MqttDriverClient } from '../../../lib/driver/index.js';
import { ClientMqttAsync } from '../../../lib/nest/client/index.js';
import { eventually } from '../../support/eventually.js';
import { describeIf, hasMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { testConnector } from '../server/support/connector.js';

const suite = describeIf(hasMosquitto, 'mosquitto');

suite('ClientMqttAsync send() on MQTT 5 against a plain responder', () => {
  let broker: MosquittoHandle;
  let responder: MqttDriverClient;
  let client: ClientMqttAsync;
  let silentRequests = 0;

  beforeAll(async () => {
    broker = await startMosquitto();
    responder = await testConnector(broker.url, { protocolVersion: 5 });
    const sub = await responder.subscribe('math/+', { qos: 1 });
    void (async () => {
      for await (const m of sub) {
        if (m.topic === 'math/silent') {
          silentRequests++;
          continue;
        }
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
    // The request is out (the responder has it, and never answers): close() must settle it.
    await eventually(() => silentRequests > 0, 'the request reaching the responder', 10_000);
    await client.close();
    await pending;
  });
});
