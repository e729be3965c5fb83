/**
 * Issue 17, "Retry, then dead-letter": handler retries while the message stays unacknowledged, dead letter with the
 * documented properties after the last attempt, ack order with a poison message among concurrent ones, close()
 * during a retry delay, non-retryable errors. On the in-memory broker and mosquitto, MQTT 5 and 3.1.1.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { type Connector, connect, type MqttDriverClient, type MqttMessage } from '../../../lib/driver/index.js';
import {
  type MqttAsyncContext,
  MqttAsyncNonRetryableError,
  mqttOptions,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { describeMosquitto, startMosquitto } from '../../support/mosquitto.js';
import { acks, recordingConnector, until } from './support/settle-suite.js';

const DEAD = 'retry-dead/letters';
/** Handler calls per topic. */
const calls = new Map<string, number>();
/** What happened, in order: `ok <topic>` / `fail <topic> <call>`. */
const events: string[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function call(ctx: MqttAsyncContext): number {
  const n = (calls.get(ctx.getTopic()) ?? 0) + 1;
  calls.set(ctx.getTopic(), n);
  return n;
}

@Controller()
class RetryController {
  @EventPattern(
    'retry/transient/{id}',
    mqttOptions({ ack: 'after', retry: { attempts: 3, delay: 20, backoff: 'fixed' } }),
  )
  transient(@Ctx() ctx: MqttAsyncContext) {
    const n = call(ctx);
    if (n < 3) throw new RpcException(`transient failure ${n}`);
  }

  @EventPattern('retry/permanent/{id}', mqttOptions({ ack: 'after', retry: { attempts: 3, delay: 20 } }))
  permanent(@Ctx() ctx: MqttAsyncContext) {
    call(ctx);
    throw new RpcException('permanent failure');
  }

  @EventPattern(
    'retry/order/{id}',
    mqttOptions({ ack: 'after', concurrency: 2, retry: { attempts: 3, delay: 500, backoff: 'fixed' } }),
  )
  async order(@Payload() data: unknown, @Ctx() context: unknown) {
    const job = data as { n: number; poison?: boolean };
    const ctx = context as MqttAsyncContext;
    const n = call(ctx);
    if (job.poison) {
      events.push(`fail ${ctx.getTopic()} ${n}`);
      throw new RpcException('poison');
    }
    await sleep(job.n % 2 === 1 ? 40 : 1); // odd ones finish after the even ones behind them
    events.push(`ok ${ctx.getTopic()}`);
  }

  @EventPattern('retry/final/{id}', mqttOptions({ ack: 'after', retry: { attempts: 5, delay: 20 } }))
  final(@Ctx() ctx: MqttAsyncContext) {
    call(ctx);
    throw new MqttAsyncNonRetryableError('bad input');
  }

  @EventPattern('retry/close/{id}', mqttOptions({ ack: 'after', retry: { attempts: 3, delay: 60_000 } }))
  closing(@Ctx() ctx: MqttAsyncContext) {
    call(ctx);
    throw new RpcException('fails until close()');
  }
}

interface Target {
  url: string;
  connector: Connector;
  client(): Promise<MqttDriverClient>;
  stop(): Promise<void>;
}

async function memory(protocolVersion: 4 | 5): Promise<Target> {
  const broker = new MqttAsyncTestBroker({ protocolVersion });
  return {
    url: broker.url,
    connector: broker.connector,
    client: () => broker.connect({ protocolVersion }),
    stop: () => broker.close(),
  };
}

async function mosquitto(protocolVersion: 4 | 5): Promise<Target> {
  const broker = await startMosquitto();
  return {
    url: broker.url,
    connector: connect,
    client: () => connect(broker.url, { protocolVersion, reconnect: false }),
    stop: () => broker.stop(),
  };
}

const targets: Array<[string, 4 | 5, () => Promise<Target>]> = [
  ['in-memory v5', 5, () => memory(5)],
  ['in-memory 3.1.1', 4, () => memory(4)],
];
const mosquittoTargets: Array<[string, 4 | 5, () => Promise<Target>]> = [
  ['mosquitto v5', 5, () => mosquitto(5)],
  ['mosquitto 3.1.1', 4, () => mosquitto(4)],
];

describe.each(targets)('retry, then dead-letter (%s)', (_name, version, start) => retrySuite(version, start));
describeMosquitto.each(mosquittoTargets)('retry, then dead-letter (%s)', (_name, version, start) =>
  retrySuite(version, start),
);

function retrySuite(protocolVersion: 4 | 5, start: () => Promise<Target>): void {
  let target: Target;
  let publisher: MqttDriverClient;
  let close: () => Promise<void>;
  const dead: MqttMessage[] = [];

  async function startServer(): Promise<void> {
    const moduleRef = await Test.createTestingModule({ controllers: [RetryController] }).compile();
    const server = new ServerMqttAsync({
      url: target.url,
      connector: recordingConnector(target.connector),
      protocolVersion,
      deadLetterTopic: DEAD,
      clientId: `retry-e2e-${protocolVersion}`,
      cleanStart: false,
      ...(protocolVersion === 5 ? { sessionExpiryInterval: 300 } : {}),
    });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    close = () => app.close();
  }

  /** v5: bare JSON and a user property; 3.1.1: Nest's wire envelope, as `ClientMqttAsync.emit()` sends it there. */
  function publish(topic: string, data: object): Promise<unknown> {
    if (protocolVersion === 4) return publisher.publish(topic, payloadOf(topic, data), { qos: 1 });
    return publisher.publish(topic, payloadOf(topic, data), {
      qos: 1,
      properties: { userProperties: [['tenant', 'acme']], contentType: 'application/json' },
    });
  }

  function payloadOf(topic: string, data: object): string {
    return protocolVersion === 4 ? JSON.stringify({ pattern: topic, data }) : JSON.stringify(data);
  }

  const deadFor = (topic: string) => dead.filter((m) => fields(m)['nest-mqtt-async:original-topic'] === topic);

  /** The dead letter's fields: user properties (v5) or the envelope's keys (3.1.1). */
  function fields(m: MqttMessage): Record<string, unknown> {
    return protocolVersion === 5 ? m.userProperties : (JSON.parse(m.payload.toString()) as Record<string, unknown>);
  }

  beforeAll(async () => {
    acks.clear();
    calls.clear();
    target = await start();
    publisher = await target.client();
    const sub = await publisher.subscribe(DEAD, { qos: 1 });
    void (async () => {
      for await (const m of sub) dead.push(m);
    })();
    await startServer();
  });

  afterAll(async () => {
    await close?.();
    await publisher?.disconnect();
    await target?.stop();
  });

  it('a transient failure succeeds on attempt 3: acknowledged, nothing dead-lettered', async () => {
    await publish('retry/transient/1', { n: 1 });
    await until(() => acks.has(`retry/transient/1 ${payloadOf('retry/transient/1', { n: 1 })}`), 'the ack');
    expect(calls.get('retry/transient/1')).toBe(3);
    expect(acks.get(`retry/transient/1 ${payloadOf('retry/transient/1', { n: 1 })}`)).toBe(0);
    expect(deadFor('retry/transient/1')).toEqual([]);
  });

  it('a permanent failure is dead-lettered after 3 attempts with the documented properties, then settled', async () => {
    await publish('retry/permanent/1', { n: 1 });
    await until(() => deadFor('retry/permanent/1').length === 1, 'the dead letter');
    const key = `retry/permanent/1 ${payloadOf('retry/permanent/1', { n: 1 })}`;
    await until(() => acks.has(key), 'the nack');
    expect(calls.get('retry/permanent/1')).toBe(3);
    expect(acks.get(key)).toBe(protocolVersion === 5 ? 0x80 : 0);
    const letter = deadFor('retry/permanent/1')[0]!;
    const f = fields(letter);
    expect(f).toMatchObject({
      'nest-mqtt-async:error-message': 'permanent failure',
      'nest-mqtt-async:original-topic': 'retry/permanent/1',
      'nest-mqtt-async:attempts': '3',
      'nest-mqtt-async:pattern': 'retry/permanent/{id}',
    });
    const first = Date.parse(f['nest-mqtt-async:first-failure'] as string);
    const last = Date.parse(f['nest-mqtt-async:last-failure'] as string);
    expect(last).toBeGreaterThan(first); // two delays of at least 20 ms between them
    if (protocolVersion === 5) {
      expect(letter.payload.toString()).toBe('{"n":1}');
      expect(letter.userProperties.tenant).toBe('acme');
      expect(letter.properties.contentType).toBe('application/json');
    } else {
      expect(f).toMatchObject({ pattern: 'retry/permanent/1', data: { n: 1 } });
    }
  });

  it('a non-retryable error skips the retries: dead-lettered after attempt 1', async () => {
    await publish('retry/final/1', { n: 1 });
    await until(() => deadFor('retry/final/1').length === 1, 'the dead letter');
    expect(calls.get('retry/final/1')).toBe(1);
    expect(fields(deadFor('retry/final/1')[0]!)).toMatchObject({
      'nest-mqtt-async:attempts': '1',
      'nest-mqtt-async:error-message': 'bad input',
    });
  });

  it('concurrency 2 with two poison messages in the middle: the others run during the retry delays; acks leave in receive order', async () => {
    events.length = 0;
    const poison = new Set([3, 4]);
    for (let n = 1; n <= 8; n++) await publish(`retry/order/${n}`, poison.has(n) ? { n, poison: true } : { n });
    const orderKeys = () => [...acks.keys()].filter((k) => k.startsWith('retry/order/'));
    await until(
      () => orderKeys().length === 8,
      () => `8 acks (got ${orderKeys().length}: ${events.join(', ')})`,
    );
    expect(orderKeys().map((k) => Number(k.split(' ')[0]!.split('/')[2]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(calls.get('retry/order/3')).toBe(3);
    expect(calls.get('retry/order/4')).toBe(3);
    // Both slots were taken by poison messages; without giving them back during the delays, 5..8 would wait.
    const lastPoison = events.indexOf('fail retry/order/3 3');
    for (const n of [5, 6, 7, 8]) expect(events.indexOf(`ok retry/order/${n}`)).toBeLessThan(lastPoison);
    // A dead letter is handed to the driver before the nack, but may reach the subscriber after it.
    await until(() => deadFor('retry/order/3').length === 1 && deadFor('retry/order/4').length === 1, 'dead letters');
  });

  it('close() during a retry delay ends it at once and leaves the message unacknowledged; the session redelivers it', async () => {
    await publish('retry/close/1', { n: 1 });
    await until(() => calls.get('retry/close/1') === 1, 'the first attempt');
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((resolve) => {
      timer = setTimeout(() => resolve('still closing'), 4000);
    });
    const closed = await Promise.race([close().then(() => 'closed'), bound]);
    clearTimeout(timer);
    expect(closed).toBe('closed'); // the 60 s delay (and the 10 s shutdownTimeout) were not waited for
    expect([...acks.keys()].some((k) => k.startsWith('retry/close/'))).toBe(false);
    expect(deadFor('retry/close/1')).toEqual([]);
    await startServer();
    await until(() => calls.get('retry/close/1') === 2, 'the redelivery');
  });
}
