import { describe, expect, it } from '@jest/globals';
import { Controller, type LoggerService } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { Connector, MqttDriverClient, MqttMessage, Subscription } from '../../../lib/driver/index.js';
import { ServerMqttAsync } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { eventually } from '../../support/eventually.js';
import { unhandledRejectionsDuring } from '../../support/unhandled-rejections.js';

@Controller()
class Readings {
  @EventPattern('readings/+')
  reading(_reading: unknown) {
    return undefined;
  }
}

class ErrorLog implements LoggerService {
  readonly errors: string[] = [];
  log() {}
  warn() {}
  error(message: unknown) {
    this.errors.push(String(message));
  }
}

/**
 * A connector whose subscriptions' next() rejects once `fail` is called: a Subscription is an AsyncIterable, and
 * a consume loop ends with the rejection of a failing next() (consume-loop.ts).
 */
function failingConnector(broker: MqttAsyncTestBroker) {
  const failures: Array<(err: Error) => void> = [];
  const failing = (sub: Subscription): Subscription =>
    Object.create(sub, {
      [Symbol.asyncIterator]: {
        value: () => ({
          next: () => new Promise<IteratorResult<MqttMessage>>((_, reject) => failures.push(reject)),
          return: async () => ({ done: true, value: undefined }),
        }),
      },
    }) as Subscription;
  let client: MqttDriverClient | undefined;
  const connector: Connector = async (url, options) => {
    const connected = await broker.connector(url, options);
    const subscribe = connected.subscribe.bind(connected);
    client = Object.assign(connected, {
      subscribe: async (...args: Parameters<MqttDriverClient['subscribe']>) => failing(await subscribe(...args)),
    });
    return client;
  };
  return {
    connector,
    client: () => client,
    waiting: () => failures.length,
    fail: (err: Error) => {
      for (const reject of failures.splice(0)) reject(err);
    },
  };
}

describe('ServerMqttAsync when a subscription fails under its consume loop', () => {
  it('reports it at once (no unhandled rejection, which ends the process), and close() still disconnects', async () => {
    const broker = new MqttAsyncTestBroker();
    const subs = failingConnector(broker);
    const logger = new ErrorLog();
    const moduleRef = await Test.createTestingModule({ controllers: [Readings] }).compile();
    const server = new ServerMqttAsync({ url: broker.url, connector: subs.connector });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger });
    try {
      await app.listen();
      await eventually(() => subs.waiting() > 0, 'the consume loop reading');
      const unhandled = await unhandledRejectionsDuring(async () => {
        subs.fail(new Error('subscription broke'));
        await eventually(() => logger.errors.length > 0, 'the error log');
      });
      expect(unhandled).toEqual([]);
      expect(logger.errors.join('\n')).toMatch(/readings\/\+.*subscription broke/);
    } finally {
      await app.close();
      await broker.close();
    }
    expect(subs.client()?.status).toBe('closed');
  });
});
