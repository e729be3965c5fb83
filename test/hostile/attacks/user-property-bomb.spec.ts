/**
 * Attack 1 (issue 19): a PUBLISH carrying tens of thousands of user properties. Grouping repeated names copied the
 * array per repeat (quadratic: 30,000 `a=b` took 57 s of event loop) and `__proto__`/`constructor` names gave the
 * record an Array prototype. Now the record is built in linear time on a prototype-less object, and a PUBLISH with
 * more than `maxUserProperties` (default 1000) is refused with 0x83 instead of delivered.
 */
import { describe, expect, it } from '@jest/globals';
import type { PubackPacket, PublishPacket, UserProperty } from '../../../lib/driver/codec/packets.js';
import { MqttProtocolError } from '../../../lib/driver/index.js';
import { userPropertyRecord } from '../../../lib/driver/message.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { take, until } from '../../support/messages.js';
import { connectClient } from '../harness.js';

const broker = useFakeBroker();

const props = (count: number, name = 'a'): UserProperty[] => Array.from({ length: count }, () => [name, 'b']);
const publish = (packetId: number, userProperties: UserProperty[]): PublishPacket => ({
  type: 'publish',
  topic: 'bomb/x',
  qos: 1,
  packetId,
  retain: false,
  dup: false,
  payload: Buffer.from('{}'),
  properties: { userProperties },
});

describe('attack: user-property bomb', () => {
  it('30,000 repeats of one name group into one array, in wire order (linear; main took ~57 s here)', () => {
    const list = props(30_000).map(([k], i): UserProperty => [k, String(i)]);
    const record = userPropertyRecord({ userProperties: list });
    const values = record.a as string[];
    expect(values).toHaveLength(30_000);
    expect(values[0]).toBe('0');
    expect(values[29_999]).toBe('29999');
  });

  it('__proto__ and constructor are plain keys of a prototype-less record', () => {
    const record = userPropertyRecord({
      userProperties: [
        ['__proto__', 'x'],
        ['constructor', 'y'],
        ['constructor', 'z'],
        ['toString', 't'],
      ],
    });
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(Object.keys(record)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(record, '__proto__')?.value).toBe('x');
    expect(record.constructor).toEqual(['y', 'z']);
    expect(Array.isArray(record)).toBe(false);
  });

  it('a PUBLISH over maxUserProperties is refused with 0x83 and not delivered; the next one is', async () => {
    const w = await connectClient(broker, 5);
    w.conn.autoRespond();
    const sub = await w.client.subscribe('bomb/#', { qos: 1 });
    w.conn.send(publish(1, props(1001)));
    w.conn.send(publish(2, props(1000)));
    const [delivered] = await take(sub, 1);
    expect(delivered?.userProperties.a).toHaveLength(1000);
    const puback1 = await w.conn.next('puback');
    expect(puback1).toMatchObject({ packetId: 1, reasonCode: 0x83 } satisfies Partial<PubackPacket>);
    await until(() => w.errors.length > 0, 5000, 'the refusal error event');
    expect(w.errors[0]).toBeInstanceOf(MqttProtocolError);
    expect(w.errors[0]?.message).toMatch(/1001 user properties refused .*maxUserProperties \(1000\)/);
    const puback2 = await w.conn.next('puback');
    expect(puback2).toMatchObject({ packetId: 2, reasonCode: 0 });
    expect(w.client.status).toBe('connected');
    await w.client.disconnect();
  });

  it('maxUserProperties raises the bound', async () => {
    const w = await connectClient(broker, 5, { maxUserProperties: 5000 });
    w.conn.autoRespond();
    const sub = await w.client.subscribe('bomb/#', { qos: 1 });
    w.conn.send(publish(1, props(5000)));
    const [delivered] = await take(sub, 1);
    expect(delivered?.userProperties.a).toHaveLength(5000);
    expect(w.errors).toEqual([]);
    await w.client.disconnect();
  });
});
