/**
 * `MqttAsyncHealthIndicator` behind a real `@nestjs/terminus` `/health` endpoint of a hybrid app on mosquitto:
 * 200 with the round trip while the broker is up, 503 within the check's timeout once it is stopped, 200 again
 * once it is back and the transports reconnected. Plus the in-memory broker and the lookup rules.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { ClientMqttAsync, MqttAsyncHealthIndicator, ServerMqttAsync } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { settlesWithin } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

const TIMEOUT = 1_000;
const RECONNECT = { initialDelay: 20, maxDelay: 200, maxAttempts: Number.POSITIVE_INFINITY };

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mqtt: MqttAsyncHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.mqtt.isHealthy('mqtt', { timeout: TIMEOUT }),
      () => this.mqtt.isHealthy('mqtt-roundtrip', { timeout: TIMEOUT, roundTrip: 'topic' }),
      () => this.mqtt.isHealthy('orders-client', { timeout: TIMEOUT, client: 'ORDERS' }),
    ]);
  }

  @MessagePattern('calc/double')
  double(n: number) {
    return n * 2;
  }
}

interface HealthBody {
  status: string;
  info?: Record<string, { status: string; rttMs?: number; roundTrip?: string }>;
  error?: Record<string, { status: string; message?: string; state?: string }>;
}

async function get(app: INestApplication): Promise<{ code: number; body: HealthBody }> {
  const { port } = app.getHttpServer().address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { code: res.status, body: (await res.json()) as HealthBody };
}

describeMosquitto.each([5, 4] as const)('terminus /health on mosquitto (protocol %s)', (protocolVersion) => {
  let mosquitto: MosquittoHandle | undefined;
  let app: INestApplication | undefined;
  let orders: ClientMqttAsync | undefined;
  afterEach(async () => {
    await orders?.close();
    await app?.close();
    await mosquitto?.stop();
  });

  it('200 with the RTT; 503 within the timeout while the broker is stopped; 200 again once it is back', async () => {
    mosquitto = await startMosquitto();
    const url = mosquitto.url;
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule],
      controllers: [HealthController],
      providers: [
        MqttAsyncHealthIndicator,
        {
          provide: 'ORDERS',
          useFactory: () =>
            // Client ids given: a 3.1.1 reconnect resumes with clean session 0, which needs one (issue 18 owns that).
            new ClientMqttAsync({
              url,
              protocolVersion,
              clientId: `health-client-${protocolVersion}`,
              reconnect: RECONNECT,
            }),
        },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({
      strategy: new ServerMqttAsync({
        url,
        protocolVersion,
        clientId: `health-server-${protocolVersion}`,
        reconnect: RECONNECT,
      }),
    });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    orders = moduleRef.get<ClientMqttAsync>('ORDERS');
    await orders.connect();

    const up = await get(app);
    expect(up.code).toBe(200);
    expect(up.body.info?.mqtt).toEqual({ status: 'up', rttMs: expect.any(Number), roundTrip: 'ping' });
    expect(up.body.info?.['mqtt-roundtrip']).toEqual({ status: 'up', rttMs: expect.any(Number), roundTrip: 'topic' });
    expect(up.body.info?.['orders-client']?.status).toBe('up');

    await mosquitto.restart({
      whileDown: async () => {
        const t0 = performance.now();
        const down = await settlesWithin(get(app as INestApplication), TIMEOUT * 5, 'the /health answer while down');
        const elapsed = performance.now() - t0;
        expect(down.code).toBe(503);
        expect(down.body.error?.mqtt).toEqual({
          status: 'down',
          message: expect.any(String),
          state: expect.any(String),
        });
        expect(down.body.error?.['mqtt-roundtrip']?.status).toBe('down');
        expect(down.body.error?.['orders-client']?.status).toBe('down');
        // Bounded by the check's timeout (plus slack for a busy machine), never a hang.
        expect(elapsed).toBeLessThan(TIMEOUT + 4_000);
      },
    });

    const deadline = Date.now() + 15_000;
    let again = await get(app);
    while (again.code !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      again = await get(app);
    }
    expect({ code: again.code, body: again.body }).toMatchObject({ code: 200 });
    expect(again.body.info?.mqtt?.status).toBe('up');
    expect(again.body.info?.['mqtt-roundtrip']?.status).toBe('up');
  }, 30_000);
});

describe('MqttAsyncHealthIndicator on the in-memory broker', () => {
  it.each([5, 4] as const)(
    'protocol %s: up by ping and by topic round trip; down once the broker closed',
    async (v) => {
      const broker = new MqttAsyncTestBroker({ protocolVersion: v });
      const server = broker.createServer();
      await new Promise<void>((resolve, reject) => server.listen((err) => (err ? reject(err) : resolve())));
      const indicator = new MqttAsyncHealthIndicator();
      expect(await indicator.isHealthy('mqtt', { server })).toEqual({
        mqtt: { status: 'up', rttMs: expect.any(Number), roundTrip: 'ping' },
      });
      expect(await indicator.isHealthy('mqtt', { server, roundTrip: 'topic' })).toEqual({
        mqtt: { status: 'up', rttMs: expect.any(Number), roundTrip: 'topic' },
      });
      // The responder's traffic is not a handler delivery: settling still works.
      await broker.settled(1000);
      await broker.close();
      const down = await indicator.isHealthy('mqtt', { server, roundTrip: 'topic' });
      expect(down.mqtt.status).toBe('down');
    },
  );

  it('checks the listening server by default, a client by token or instance, and says when none is there', async () => {
    const indicator = new MqttAsyncHealthIndicator();
    const none = await indicator.isHealthy('mqtt');
    expect(none.mqtt).toEqual({
      status: 'down',
      message: expect.stringMatching(/No ServerMqttAsync/),
      state: 'not-started',
    });
    const broker = new MqttAsyncTestBroker();
    try {
      const server = broker.createServer();
      await new Promise<void>((resolve, reject) => server.listen((err) => (err ? reject(err) : resolve())));
      expect((await indicator.isHealthy('mqtt')).mqtt.status).toBe('up');
      const client = broker.createClient();
      const notConnected = await indicator.isHealthy('c', { client });
      expect(notConnected.c.status).toBe('down');
      await client.connect();
      expect((await indicator.isHealthy('c', { client })).c.status).toBe('up');
    } finally {
      await broker.close();
    }
    expect((await indicator.isHealthy('mqtt')).mqtt.status).toBe('down');
  });
});
