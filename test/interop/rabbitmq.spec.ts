/**
 * The driver on RabbitMQ's MQTT plugin (3.x: MQTT 3.1.1 only, QoS 2 taken as QoS 1), one private node for the
 * file. What works is checked, and what RabbitMQ does not do must fail fast with an error that says why.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClient, MqttConnectError, MqttPublishError } from '../../lib/driver/index.js';
import { ServerMqttAsync } from '../../lib/nest/index.js';
import { settlesWithin, take } from '../support/messages.js';
import { describeRabbitmq, type RabbitmqHandle, startRabbitmq } from '../support/rabbitmq.js';

describeRabbitmq('driver on RabbitMQ (MQTT 3.1.1)', () => {
  let rabbit: RabbitmqHandle;
  const clients: MqttClient[] = [];
  const client = async (clientId = ''): Promise<MqttClient> => {
    const c = await connect(rabbit.url, { protocolVersion: 4, reconnect: false, clientId });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    rabbit = await startRabbitmq();
    console.info(`RabbitMQ node ready in ${rabbit.bootMs} ms`);
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await rabbit?.stop();
  }, 30_000);

  it('publishes and receives at QoS 0 and 1, in order per QoS (RabbitMQ may reorder across QoS levels, 4.6)', async () => {
    const c = await client();
    const sub = await c.subscribe('rmq/order/#', { qos: 1 });
    expect(sub.granted).toEqual([1]);
    const sent = Array.from({ length: 100 }, (_, i) => String(i));
    await Promise.all(sent.map((p) => c.publish(`rmq/order/${Number(p) % 2}`, p, { qos: (Number(p) % 2) as 0 | 1 })));
    const got = (await take(sub, 100)).map((m) => m.payload.toString());
    for (const qos of [0, 1]) {
      expect(got.filter((p) => Number(p) % 2 === qos)).toEqual(sent.filter((p) => Number(p) % 2 === qos));
    }
  });

  it('QoS 2: SUBACK grants 1, and a QoS 2 publish rejects at once saying the broker does not complete QoS 2', async () => {
    const c = await client();
    const sub = await c.subscribe('rmq/q2', { qos: 2 });
    expect(sub.granted).toEqual([1]);
    const err = await settlesWithin(
      c.publish('rmq/q2', 'x', { qos: 2 }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      10_000,
      'the QoS 2 publish',
    );
    expect(err).toBeInstanceOf(MqttPublishError);
    expect((err as Error).message).toMatch(/does not complete QoS 2 flows/);
    // It was accepted at QoS 1, as the error says.
    const [m] = await take(sub, 1);
    expect([m?.payload.toString(), m?.qos]).toEqual(['x', 1]);
  });

  it('protocolVersion 5: the dropped CONNECT fails with advice to use protocolVersion: 4', async () => {
    const err = await connect(rabbit.url, { reconnect: false }).then(
      (c) => c.disconnect(),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/may not support MQTT 5.*try protocolVersion: 4/);
  });

  it('ServerMqttAsync left at protocolVersion 5: listen() fails after its connect attempts with the same advice', async () => {
    const server = new ServerMqttAsync({ url: rabbit.url });
    const err = await new Promise<unknown>((resolve) => void server.listen((e) => resolve(e)));
    expect(String((err as Error | undefined)?.message)).toMatch(/try protocolVersion: 4/);
    await server.close();
  });

  it('a retained message reaches a new Subscription even when an older one matches it too', async () => {
    const c = await client();
    const older = await c.subscribe('rmq/ret/#', { qos: 1 });
    const publisher = await client();
    await publisher.publish('rmq/ret/a', 'retained', { qos: 1, retain: true });
    expect((await take(older, 1)).map((m) => m.payload.toString())).toEqual(['retained']);
    const newer = await c.subscribe('rmq/ret/a', { qos: 1 });
    await publisher.publish('rmq/ret/a', 'sentinel', { qos: 1 });
    expect((await take(newer, 2)).map((m) => [m.payload.toString(), m.retain])).toEqual([
      ['retained', true],
      ['sentinel', false],
    ]);
    await publisher.publish('rmq/ret/a', '', { qos: 1, retain: true });
  });

  it('a session with a client id resumes (CleanSession 0); an empty client id is refused that way locally', async () => {
    const opts = { protocolVersion: 4 as const, reconnect: false as const, clientId: 'rmq-resume', cleanStart: false };
    const first = await connect(rabbit.url, opts);
    await first.subscribe('rmq/resume', { qos: 1 });
    await first.disconnect();
    const publisher = await client();
    await publisher.publish('rmq/resume', 'while away', { qos: 1 });
    const again = await connect(rabbit.url, opts);
    clients.push(again);
    const sub = await again.subscribe('rmq/resume', { qos: 1 });
    expect((await take(sub, 1)).map((m) => m.payload.toString())).toEqual(['while away']);
    await expect(connect(rabbit.url, { ...opts, clientId: '' })).rejects.toThrow(/MQTT-3\.1\.3-7/);
  });
});
