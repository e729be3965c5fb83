import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice, type LoggerService } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { MqttClient } from 'mqtt';
import { MqttAsyncContext, type MqttAsyncServerOptions, ServerMqttAsync, TopicParam } from '../../../lib/nest/index.js';
import { eventually } from '../../support/eventually.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { outsideClient, rpc } from './helpers.js';

interface Line {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
}

/** A Nest LoggerService that keeps what it is given (passed to the app as `logger`). */
class CaptureLogger implements LoggerService {
  readonly lines: Line[] = [];
  private add(level: Line['level'], message: unknown) {
    this.lines.push({ level, message: String(message) });
  }
  log(message: unknown) {
    this.add('log', message);
  }
  error(message: unknown) {
    this.add('error', message);
  }
  warn(message: unknown) {
    this.add('warn', message);
  }
  debug(message: unknown) {
    this.add('debug', message);
  }
  verbose(message: unknown) {
    this.add('verbose', message);
  }
  fatal(message: unknown) {
    this.add('fatal', message);
  }
  warnings(): string[] {
    return this.lines.filter((l) => l.level === 'warn').map((l) => l.message);
  }
}

const calls: Array<{ id: string; data: unknown }> = [];
const gate = { started: () => {}, release: () => {} };

@Controller()
class OrdersController {
  @MessagePattern('orders/{id}/total', { qos: 1 })
  total(@Payload() data: { items: number[] }, @TopicParam('id') id: string) {
    calls.push({ id, data });
    return { id, total: data.items.reduce((a, b) => a + b, 0) };
  }

  /** Never settles on `hang/forever`; waits for `gate.release` on `hang/until-released`. */
  @EventPattern('hang/+', { qos: 1, ack: 'after' })
  hang(@Ctx() ctx: MqttAsyncContext) {
    gate.started();
    if (ctx.getTopic() === 'hang/forever') return new Promise(() => {});
    return new Promise<void>((resolve) => {
      gate.release = resolve;
    });
  }
}

async function startLoggedApp(options: MqttAsyncServerOptions, logger: CaptureLogger) {
  const moduleRef = await Test.createTestingModule({ controllers: [OrdersController] }).compile();
  const server = new ServerMqttAsync(options);
  const handled: string[] = [];
  server.on('message:handled', (e) => handled.push(e.topic));
  const app = moduleRef.createNestMicroservice({ strategy: server, logger });
  await app.listen();
  const handledOn = async (topic: string) => {
    await eventually(() => handled.includes(topic), `${topic} handled`, 10_000);
  };
  return { app, server, handled, handledOn };
}

describeMosquitto('ServerMqttAsync logs through the Nest logger (mosquitto, MQTT 5)', () => {
  let broker: MosquittoHandle;
  let outside: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    outside = await outsideClient(broker.url);
  });

  afterAll(async () => {
    await outside?.endAsync();
    await broker?.stop();
  });

  describe('a @MessagePattern message without Response Topic', () => {
    const logger = new CaptureLogger();
    let app: INestMicroservice;
    let handledOn: (topic: string) => Promise<void>;

    beforeAll(async () => {
      ({ app, handledOn } = await startLoggedApp({ url: broker.url, protocolVersion: 5 }, logger));
    });
    afterAll(() => app?.close());
    beforeEach(() => {
      calls.length = 0;
      logger.lines.length = 0;
    });

    it('runs the handler and warns that the result had nowhere to go, naming pattern and topic', async () => {
      await outside.publishAsync('orders/o-17/total', '{"items":[1,2,3]}', { qos: 1 });
      await handledOn('orders/o-17/total');
      expect(calls).toEqual([{ id: 'o-17', data: { items: [1, 2, 3] } }]);
      const warnings = logger.warnings();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("@MessagePattern('orders/{id}/total')");
      expect(warnings[0]).toContain("'orders/o-17/total'");
      expect(warnings[0]).toMatch(/no Response Topic/);
      expect(warnings[0]).toMatch(/nowhere to go/);
    });

    it('does not warn when the request has a Response Topic', async () => {
      const [reply] = await rpc(outside, 'orders/o-18/total', '{"items":[4]}');
      expect(JSON.parse(reply!.payload)).toEqual({ id: 'o-18', total: 4 });
      expect(calls).toHaveLength(1);
      expect(logger.warnings()).toEqual([]);
    });
  });

  describe('close() with shutdownTimeout: 500', () => {
    const logger = new CaptureLogger();
    let app: INestMicroservice | undefined;

    beforeEach(() => {
      logger.lines.length = 0;
    });
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    async function startHanging(topic: string) {
      const started = await startLoggedApp({ url: broker.url, protocolVersion: 5, shutdownTimeout: 500 }, logger);
      app = started.app;
      const running = new Promise<void>((resolve) => {
        gate.started = resolve;
      });
      await outside.publishAsync(topic, '{}', { qos: 1 });
      await running;
      return started;
    }

    it('resolves within ~1.5 s when a handler hangs, warns, and disconnects', async () => {
      const { server } = await startHanging('hang/forever');
      const t0 = Date.now();
      await app!.close();
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(480);
      expect(elapsed).toBeLessThan(1500);
      expect(logger.warnings()).toEqual([
        expect.stringMatching(/close\(\): 1 handler\(s\) still running after 500 ms; disconnecting/),
      ]);
      expect(server.unwrap().status).toBe('closed');
    });

    it('waits for a handler that finishes within the timeout, without a warning', async () => {
      const { handled } = await startHanging('hang/until-released');
      setTimeout(() => gate.release(), 200);
      const t0 = Date.now();
      await app!.close();
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(180);
      expect(elapsed).toBeLessThan(500);
      expect(handled).toContain('hang/until-released');
      expect(logger.warnings()).toEqual([]);
    });
  });
});
