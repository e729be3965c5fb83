/**
 * `send()` and `emit()` of `ClientMqttAsync` honour records, ours (`MqttAsyncRecordBuilder`) and Nest's own
 * (`MqttRecordBuilder`): the PUBLISH on the wire (scripted fake broker) carries the record's data as the payload and
 * its QoS, retain, dup and properties as packet fields.
 */
import { describe, expect, it } from '@jest/globals';
import { MqttRecordBuilder } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import type { PublishPacket } from '../../../lib/driver/codec/packets.js';
import { ClientMqttAsync, MqttAsyncRecordBuilder } from '../../../lib/nest/index.js';
import { useFakeBroker } from '../../support/fake-broker.js';

const broker = useFakeBroker();

async function clientOn(protocolVersion: 4 | 5, nestWireFormat?: boolean) {
  const client = new ClientMqttAsync({
    url: broker.url,
    protocolVersion,
    reconnect: false,
    requestTimeout: 2000,
    ...(nestWireFormat !== undefined ? { nestWireFormat } : {}),
  });
  const connected = client.connect();
  const conn = await broker.nextConnection();
  await conn.handshake();
  conn.autoRespond();
  await connected;
  return { client, conn };
}

const nestRecord = (data: unknown) =>
  new MqttRecordBuilder(data)
    .setQoS(2)
    .setRetain(true)
    .setDup(true)
    .setProperties({ userProperties: { tenant: 'acme', tag: ['a', 'b'] }, contentType: 'application/json' })
    .build();

describe('records on the wire', () => {
  it('emit(): Nest MqttRecord → data as payload; QoS, retain, dup, user properties on the PUBLISH (MQTT 5)', async () => {
    const { client, conn } = await clientOn(5);
    void client.emit('records/event', nestRecord({ n: 1 }));
    const p = await conn.next('publish');
    expect(p).toMatchObject({ topic: 'records/event', qos: 2, retain: true, dup: true });
    expect(JSON.parse(p.payload.toString())).toEqual({ n: 1 });
    expect(p.properties?.userProperties).toEqual([
      ['tenant', 'acme'],
      ['tag', 'a'],
      ['tag', 'b'],
    ]);
    expect(p.properties?.contentType).toBe('application/json');
    await client.close();
  });

  it('send(): Nest MqttRecord on MQTT 5 keeps our Response Topic and Correlation Data', async () => {
    const { client, conn } = await clientOn(5);
    const reply = firstValueFrom(client.send('records/rpc', nestRecord([1, 2]))).catch((e: unknown) => e);
    const p = await conn.next('publish');
    expect(p).toMatchObject({ topic: 'records/rpc', qos: 2, retain: true, dup: true });
    expect(JSON.parse(p.payload.toString())).toEqual([1, 2]);
    expect(p.properties?.responseTopic).toMatch(/^nest-mqtt-async\/replies\//);
    expect(p.properties?.correlationData).toBeInstanceOf(Buffer);
    expect(p.properties?.userProperties).toContainEqual(['tenant', 'acme']);
    await client.close();
    await reply;
  });

  it.each([
    [4, undefined],
    [5, true],
  ] as const)(
    'send(): records in Nest wire format (v%s) wrap only the data; the PUBLISH takes the QoS',
    async (v, nest) => {
      const { client, conn } = await clientOn(v, nest);
      const ours = firstValueFrom(
        client.send({ cmd: 'sum' }, new MqttAsyncRecordBuilder([1, 2]).setQos(0).build()),
      ).catch((e: unknown) => e);
      let p: PublishPacket = await conn.next('publish');
      expect(p).toMatchObject({ topic: '{"cmd":"sum"}', qos: 0 });
      expect(JSON.parse(p.payload.toString())).toMatchObject({ pattern: '{"cmd":"sum"}', data: [1, 2] });
      const theirs = firstValueFrom(
        client.send('records/rpc', new MqttRecordBuilder({ a: 1 }).setQoS(2).build()),
      ).catch((e: unknown) => e);
      p = await conn.next('publish');
      expect(p).toMatchObject({ topic: 'records/rpc', qos: 2 });
      expect(JSON.parse(p.payload.toString())).toMatchObject({ pattern: 'records/rpc', data: { a: 1 } });
      await client.close();
      await Promise.all([ours, theirs]);
    },
  );

  it('a QoS 0 record never sets DUP (MQTT 3.3.1-2)', async () => {
    const { client, conn } = await clientOn(5);
    void client.emit('records/q0', new MqttRecordBuilder('x').setQoS(0).setDup(true).build());
    expect(await conn.next('publish')).toMatchObject({ qos: 0, dup: false });
    await client.close();
  });
});
