import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { type Connector, connect, type MqttDriverClient } from '../../../lib/driver/index.js';
import { FLAG, REPLY_MARKER_PROPERTY, ServerMqttAsync } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import {
  ACK_MODES,
  acks,
  allControllers,
  badMessage,
  expectedBadCode,
  FAILURE_KINDS,
  handledIds,
  prefix,
  recordingConnector,
  setAckListener,
  until,
} from './support/settle-suite.js';

/** A broker the suite runs on: where servers connect and how an outside publisher is made. */
interface Target {
  url: string;
  connector: Connector;
  publisher(): Promise<MqttDriverClient>;
  stop(): Promise<void>;
}

const targets: Array<[string, 4 | 5, () => Promise<Target>]> = [
  ['in-memory v5', 5, async () => memory(5)],
  ['in-memory 3.1.1', 4, async () => memory(4)],
];
// Without mosquitto these are listed as skipped (with a notice), not dropped from the counts.
const mosquittoTargets: Array<[string, 4 | 5, () => Promise<Target>]> = [
  ['mosquitto v5', 5, () => mosquitto(5)],
  ['mosquitto 3.1.1', 4, () => mosquitto(4)],
];

function memory(protocolVersion: 4 | 5): Target {
  const broker = new MqttAsyncTestBroker({ protocolVersion });
  return {
    url: broker.url,
    connector: broker.connector,
    publisher: () => broker.connect({ protocolVersion }),
    stop: () => broker.close(),
  };
}

async function mosquitto(protocolVersion: 4 | 5): Promise<Target> {
  const broker: MosquittoHandle = await startMosquitto();
  return {
    url: broker.url,
    connector: connect,
    publisher: () => connect(broker.url, { protocolVersion, reconnect: false }),
    stop: () => broker.stop(),
  };
}

describe.each(targets)('every delivered message is settled (%s)', (_name, protocolVersion, start) =>
  settledSuite(protocolVersion, start),
);
describeMosquitto.each(mosquittoTargets)('every delivered message is settled (%s)', (_name, protocolVersion, start) =>
  settledSuite(protocolVersion, start),
);

function settledSuite(protocolVersion: 4 | 5, start: () => Promise<Target>): void {
  let target: Target;
  let publisher: MqttDriverClient;
  let server: ServerMqttAsync;
  let close: () => Promise<void>;

  async function startServer(): Promise<void> {
    const moduleRef = await Test.createTestingModule({ controllers: allControllers() }).compile();
    server = new ServerMqttAsync({
      url: target.url,
      connector: recordingConnector(target.connector),
      protocolVersion,
      clientId: `settle-everything-${protocolVersion}`,
      cleanStart: false,
      ...(protocolVersion === 5 ? { sessionExpiryInterval: 300 } : {}),
    });
    const app = moduleRef.createNestMicroservice({
      strategy: server,
      logger: process.env.DEBUG_SETTLE ? ['error', 'warn'] : false,
    });
    await app.listen();
    close = () => app.close();
  }

  beforeAll(async () => {
    acks.clear();
    target = await start();
    publisher = await target.publisher();
    await startServer();
  });

  afterAll(async () => {
    await close?.();
    await publisher?.disconnect();
    await target?.stop();
  });

  const cases = ACK_MODES.flatMap((mode) => FAILURE_KINDS.map((kind) => [mode, kind] as const));

  it.each(cases)(
    'ack %s, %s failure: the 20 valid messages behind it are handled and acknowledged',
    async (mode, kind) => {
      const key = prefix(mode, kind);
      const bad = badMessage(kind, protocolVersion);
      const userProperties: Array<[string, string]> = bad.marker ? [[REPLY_MARKER_PROPERTY, FLAG]] : [];
      const sent = [publisher.publish(`${key}/0`, bad.payload, { qos: 1, properties: { userProperties } })];
      for (let n = 1; n <= 20; n++) sent.push(publisher.publish(`${key}/${n}`, JSON.stringify({ n }), { qos: 1 }));
      await Promise.all(sent);

      const settled = () => [...acks.keys()].filter((k) => k.startsWith(`${key}/`)).length;
      await until(
        () => settled() === 21,
        () =>
          `21 settled messages on ${key} (settled: ${settled()}, handled ${handledIds.get(key)}, ${[...acks.keys()].filter((k) => k.startsWith(key))})`,
        5000,
      );
      expect(handledIds.get(key)!.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(acks.get(`${key}/0 ${bad.payload}`)).toBe(expectedBadCode(mode, kind, protocolVersion));
    },
  );

  it('a reconnect of the same persistent session brings nothing back', async () => {
    await close();
    acks.clear();
    for (const ids of handledIds.values()) ids.length = 0;
    await startServer();
    const sentinel = `${prefix('auto', 'throw')}/999`;
    await publisher.publish(sentinel, '{"n":999}', { qos: 1 });
    await until(() => acks.has(`${sentinel} {"n":999}`), 'the sentinel');
    expect([...acks.keys()]).toEqual([`${sentinel} {"n":999}`]);
  });
}

describe('dead letters come first', () => {
  it('an undecodable message for a manual-ack handler is dead-lettered, then nacked with 0x99', async () => {
    const broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
    const moduleRef = await Test.createTestingModule({ controllers: allControllers() }).compile();
    const server = new ServerMqttAsync({
      url: broker.url,
      connector: recordingConnector(broker.connector),
      deadLetterTopic: 'dead/letters',
    });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    const seenAtAck: number[] = [];
    setAckListener(() => seenAtAck.push(broker.published('dead/letters').length));
    try {
      acks.clear();
      const key = prefix('manual', 'decode');
      const publisher = await broker.connect();
      await publisher.publish(`${key}/0`, '{"n": 1,', { qos: 1 });
      await until(() => acks.size === 1, 'the nack');
      expect(acks.get(`${key}/0 {"n": 1,`)).toBe(0x99);
      expect(seenAtAck).toEqual([1]);
      expect(broker.published('dead/letters')[0]!.userProperties).toMatchObject({
        'nest-mqtt-async:original-topic': `${key}/0`,
      });
    } finally {
      setAckListener(undefined);
      await app.close();
      await broker.close();
    }
  });
});
