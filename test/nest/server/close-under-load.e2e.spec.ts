import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import mqtt, { type MqttClient } from 'mqtt';
import {
  type Connector,
  connect,
  type MqttDriverClient,
  type MqttMessage,
  type Subscription,
} from '../../../lib/driver/index.js';
import { ServerMqttAsync } from '../../../lib/nest/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

const TOTAL = 3000;
const TOPIC = 'load/close/items';

/** What the handlers did and what the server acknowledged, across both server runs. */
const state = {
  run: 0,
  finished: new Set<number>(),
  handled: [new Map<number, number>(), new Map<number, number>()],
  /** Acks sent (by the server, through the driver) for a message whose handler had not finished. */
  ackedUnhandled: [] as number[],
  acked: [new Set<number>(), new Set<number>()],
  onFinished: () => {},
  /** Driver errors (an acknowledged-and-dropped message is one). */
  errors: [] as string[],
  onError: () => {},
};

@Controller()
class LoadController {
  @EventPattern(TOPIC, { qos: 1, ack: 'after', concurrency: 5 })
  async item(@Payload() item: { n: number }) {
    await new Promise((resolve) => setImmediate(resolve));
    const handled = state.handled[state.run]!;
    handled.set(item.n, (handled.get(item.n) ?? 0) + 1);
    state.finished.add(item.n);
    state.onFinished();
  }
}

/** The real driver, with every ack of a handler message checked against the handler's completion. */
const auditingConnector: Connector = async (url, options) => {
  const client: MqttDriverClient = await connect(url, options);
  const subscribe = client.subscribe.bind(client);
  const audit = (message: MqttMessage): MqttMessage => {
    const settle = (send: () => Promise<void>) => {
      const n = (JSON.parse(message.payload.toString()) as { n: number }).n;
      if (!state.finished.has(n)) state.ackedUnhandled.push(n);
      state.acked[state.run]!.add(n);
      return send();
    };
    return Object.create(message, {
      ack: { value: () => settle(() => message.ack()) },
      nack: { value: (code?: number) => settle(() => message.nack(code)) },
    }) as MqttMessage;
  };
  return Object.assign(client, {
    subscribe: async (...args: Parameters<MqttDriverClient['subscribe']>): Promise<Subscription> => {
      const sub = await subscribe(...args);
      return Object.create(sub, {
        [Symbol.asyncIterator]: {
          value: () => {
            const inner = sub[Symbol.asyncIterator]();
            return {
              next: async () => {
                const r = await inner.next();
                return r.done ? r : { done: false as const, value: audit(r.value) };
              },
              return: async () => inner.return?.() ?? { done: true as const, value: undefined },
            };
          },
        },
      }) as Subscription;
    },
  });
};

describeMosquitto.each([5, 4] as const)('close() under load loses no acknowledged message (MQTT %s)', (version) => {
  let broker: MosquittoHandle;
  let publisher: MqttClient;

  async function startServer(): Promise<INestMicroservice> {
    const moduleRef = await Test.createTestingModule({ controllers: [LoadController] }).compile();
    const strategy = new ServerMqttAsync({
      url: broker.url,
      protocolVersion: version,
      clientId: `close-under-load-v${version}`,
      cleanStart: false,
      ...(version === 5 ? { sessionExpiryInterval: 300 } : {}),
      connector: auditingConnector,
    });
    strategy.on('error', (err) => {
      state.errors.push(err.message);
      state.onError();
    });
    const app = moduleRef.createNestMicroservice({ strategy, logger: false });
    await app.listen();
    return app;
  }

  beforeAll(async () => {
    broker = await startMosquitto();
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    state.run = 0;
    state.finished.clear();
    for (const map of state.handled) map.clear();
    for (const set of state.acked) set.clear();
    state.ackedUnhandled.length = 0;
    state.errors.length = 0;
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.stop();
  });

  it(`${TOTAL} QoS 1 messages, ack 'after', the server closed midway and restarted on its session`, async () => {
    // Create the persistent session (and its subscription) before anything is published.
    await (await startServer()).close();

    const first = await startServer();
    const midway = new Promise<void>((resolve) => {
      state.onFinished = () => state.finished.size >= TOTAL / 3 && resolve();
    });
    const published = Promise.all(
      Array.from({ length: TOTAL }, (_, n) => publisher.publishAsync(TOPIC, JSON.stringify({ n }), { qos: 1 })),
    );
    await midway;
    await first.close(); // while the publisher is still sending
    const handledInFirstRun = state.handled[0]!.size;
    await published;

    state.run = 1;
    const everything = new Promise<void>((resolve) => {
      state.onFinished = () => state.finished.size === TOTAL && resolve();
      state.onError = resolve; // a dropped message would never be handled: stop waiting, report it below
      state.onFinished();
    });
    const second = await startServer();
    await everything;
    await second.close();

    // Every message handled at least once; no ack ever left before its handler finished.
    expect(state.errors).toEqual([]);
    expect(state.finished.size).toBe(TOTAL);
    expect(state.ackedUnhandled).toEqual([]);
    // The first run stopped midway and acknowledged every message it handled...
    expect(handledInFirstRun).toBeGreaterThanOrEqual(TOTAL / 3);
    expect(handledInFirstRun).toBeLessThan(TOTAL);
    expect([...state.handled[0]!.keys()].filter((n) => !state.acked[0]!.has(n))).toEqual([]);
    // ...and the broker redelivered none of those acknowledged messages to the second run.
    expect([...state.handled[1]!.keys()].filter((n) => state.acked[0]!.has(n))).toEqual([]);
    // Within a run, a message is handled once.
    for (const handled of state.handled) expect([...handled.values()].filter((count) => count > 1)).toEqual([]);
  });
});
