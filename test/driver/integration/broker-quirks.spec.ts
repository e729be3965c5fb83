/**
 * What a broker that does not do all of MQTT does to us (RabbitMQ's MQTT plugin, played by the scripted fake
 * broker; test/interop/rabbitmq.spec.ts runs the same against the real one): every promise still settles, and the
 * error says what to do.
 */
import { describe, expect, it } from '@jest/globals';
import { connect, MqttConnectError, MqttPublishError } from '../../../lib/driver/index.js';
import { connectClient, VERSIONS } from '../../hostile/harness.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { settlesWithin } from '../../support/messages.js';

const broker = useFakeBroker();

for (const v of VERSIONS) {
  describe(`v${v}: a broker that answers a QoS 2 PUBLISH with PUBACK (RabbitMQ: QoS 2 taken as QoS 1)`, () => {
    it('the publish rejects with MqttPublishError saying so; its packet id is free again', async () => {
      const w = await connectClient(broker, v);
      const first = w.client.publish('q2/t', 'x', { qos: 2 });
      const p = await w.conn.next('publish');
      w.conn.send({ type: 'puback', packetId: p.packetId as number, ...(v === 5 ? { reasonCode: 0 } : {}) });
      const err = await settlesWithin(
        first.then(
          () => undefined,
          (e: unknown) => e,
        ),
        5000,
        'the QoS 2 publish',
      );
      expect(err).toBeInstanceOf(MqttPublishError);
      expect((err as Error).message).toMatch(/does not complete QoS 2 flows/);
      expect((err as Error).message).toMatch(/qos: 1/);
      // No PUBREL for it, and the next publish goes on normally.
      w.conn.autoRespond();
      await expect(w.client.publish('q2/t', 'y', { qos: 1 })).resolves.toMatchObject({ reasonCode: 0 });
      expect(w.conn.received.filter((x) => x.type === 'pubrel')).toEqual([]);
      await w.client.disconnect();
    });
  });
}

describe('a broker that drops the CONNECT without CONNACK', () => {
  it('v5: MqttConnectError says the broker may not support MQTT 5 and to try protocolVersion: 4', async () => {
    const pending = connect(broker.url, { reconnect: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const conn = await broker.nextConnection();
    await conn.next('connect');
    conn.close();
    const err = await settlesWithin(pending, 5000, 'connect()');
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/may not support MQTT 5.*try protocolVersion: 4/);
  });

  it('3.1.1: no such hint', async () => {
    const pending = connect(broker.url, { protocolVersion: 4, reconnect: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const conn = await broker.nextConnection();
    await conn.next('connect');
    conn.close();
    const err = await settlesWithin(pending, 5000, 'connect()');
    expect(err).toBeInstanceOf(MqttConnectError);
    expect((err as Error).message).toMatch(/closed before CONNACK/);
    expect((err as Error).message).not.toMatch(/MQTT 5/);
  });
});
