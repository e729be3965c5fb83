/**
 * Runtime subscribe/unsubscribe under load on mosquitto (MQTT 5 and 3.1.1) and in memory: while QoS 1 messages
 * stream in, runtime handlers on the very filter a decorated handler uses (`load/+`) and on an overlapping one
 * (`load/#`) come and go; the decorated handler still gets every message (a sentinel ends the stream, no sleeps).
 * An UNSUBSCRIBE of `load/+` at the broker would cut the decorated handler off; on MQTT 5 a late copy for an
 * unsubscribed filter held unacknowledged (as a resumed session's message) stalled every later PUBACK (acks leave
 * in order) and so the whole connection, at mosquitto's 20 in-flight messages.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { connect, type MqttDriverClient } from '../../../lib/driver/index.js';
import { ServerMqttAsync } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { until } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

const MESSAGES = 1500;
const CYCLES = 15;
const got = new Set<number>();
let ended = false;

@Controller()
class LoadController {
  @EventPattern<string>('load/{n}')
  load(@Payload() n: number | string) {
    if (n === 'end') ended = true;
    else got.add(Number(n));
  }
}

let app: INestMicroservice | undefined;
let publisher: MqttDriverClient | undefined;

afterEach(async () => {
  await app?.close();
  await publisher?.disconnect();
  app = undefined;
  publisher = undefined;
  got.clear();
  ended = false;
});

async function churnUnderLoad(server: ServerMqttAsync, makePublisher: () => Promise<MqttDriverClient>) {
  const moduleRef = await Test.createTestingModule({ controllers: [LoadController] }).compile();
  app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
  await app.listen();
  publisher = await makePublisher();
  const out = publisher;
  const runtimeSeen: string[] = [];
  const stream = (async () => {
    for (let n = 0; n < MESSAGES; n++) await out.publish(`load/${n}`, String(n), { qos: 1 });
  })();
  for (let i = 0; i < CYCLES; i++) {
    const same = await server.subscribe('load/+', (_n, ctx) => void runtimeSeen.push(ctx.getTopic()), { qos: 1 });
    const wider = await server.subscribe('load/#', (_n, ctx) => void runtimeSeen.push(ctx.getTopic()), {
      qos: 1,
      concurrency: 4,
      ack: 'after',
    });
    await same.unsubscribe();
    await wider.unsubscribe();
  }
  await stream;
  await out.publish('load/end', 'end', { qos: 1 });
  await until(() => ended, 20_000, 'the sentinel');
  const missing = Array.from({ length: MESSAGES }, (_, n) => n).filter((n) => !got.has(n));
  expect(missing).toEqual([]);
  expect(runtimeSeen.every((t) => t.startsWith('load/'))).toBe(true);
}

describeMosquitto.each([5, 4] as const)('runtime subscriptions under load on mosquitto (protocol %s)', (v) => {
  let mosquitto: MosquittoHandle | undefined;
  afterEach(async () => {
    await mosquitto?.stop();
  });

  it('unsubscribing loses nothing routed to the decorated handler', async () => {
    mosquitto = await startMosquitto();
    const url = mosquitto.url;
    const server = new ServerMqttAsync({ url, protocolVersion: v, nestWireFormat: false });
    await churnUnderLoad(server, () => connect(url, { protocolVersion: v }));
  }, 60_000);
});

describe('runtime subscriptions under load in memory', () => {
  it('unsubscribing loses nothing routed to the decorated handler; every message settled', async () => {
    const broker = new MqttAsyncTestBroker();
    try {
      await churnUnderLoad(broker.createServer({ nestWireFormat: false }), () => broker.connect());
      await until(() => broker.unacked().length === 0, 5000, 'every delivery settled');
    } finally {
      await broker.close();
    }
  }, 60_000);
});
