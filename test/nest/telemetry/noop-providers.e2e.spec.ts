/**
 * With `@opentelemetry/api` installed and nothing registered (the default of an app without an SDK), the
 * transport's telemetry costs nothing: no span is started, no context is set, no publish is wrapped (issue 15:
 * "the no-op providers cost nothing"; the figure is bench:transport's telemetry case). An SDK registered after
 * the transport started is picked up by the next message, and unregistering it turns tracing off again.
 */
import { afterAll, afterEach, beforeAll, expect, it, jest } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { context, ProxyTracer } from '@opentelemetry/api';
import { firstValueFrom } from 'rxjs';
import { ClientMqttAsync, ServerMqttAsync } from '../../../lib/nest/index.js';
import { until } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { type Otel, registerOtel } from './otel.js';

@Controller()
class EchoController {
  @MessagePattern('noop/echo')
  echo(@Payload() body: unknown) {
    return body;
  }
}

describeMosquitto('telemetry with the no-op providers (API installed, no SDK registered)', () => {
  let mosquitto: MosquittoHandle;
  let app: Awaited<ReturnType<typeof start>> | undefined;
  let otel: Otel | undefined;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await app?.client.close();
    await app?.microservice.close();
    app = undefined;
    await otel?.shutdown();
    otel = undefined;
  });
  afterAll(async () => {
    await mosquitto?.stop();
  });

  async function start() {
    const options = { url: mosquitto.url, protocolVersion: 5 as const };
    const moduleRef = await Test.createTestingModule({ controllers: [EchoController] }).compile();
    const microservice = moduleRef.createNestMicroservice({ strategy: new ServerMqttAsync(options), logger: false });
    await microservice.listen();
    const client = new ClientMqttAsync(options);
    await client.connect();
    return { microservice, client };
  }

  it('starts no span and enters no context per message', async () => {
    app = await start();
    const startSpan = jest.spyOn(ProxyTracer.prototype, 'startSpan');
    const withContext = jest.spyOn(context, 'with');
    for (let i = 0; i < 3; i++) expect(await firstValueFrom(app.client.send('noop/echo', { i }))).toEqual({ i });
    expect(startSpan).not.toHaveBeenCalled();
    expect(withContext).not.toHaveBeenCalled();
  });

  it('an SDK registered after the transport started traces the next request; unregistered, tracing stops', async () => {
    app = await start();
    expect(await firstValueFrom(app.client.send('noop/echo', 1))).toBe(1);
    otel = registerOtel();
    expect(await firstValueFrom(app.client.send('noop/echo', 2))).toBe(2);
    const names = () => otel!.spans().map((s) => s.name);
    await until(() => names().includes('process noop/echo'), 5000, 'the consumer span');
    expect(names()).toEqual(expect.arrayContaining(['send noop/echo', 'process noop/echo', 'reply noop/echo']));
    const live = otel;
    otel = undefined;
    await live.shutdown();
    const startSpan = jest.spyOn(ProxyTracer.prototype, 'startSpan');
    expect(await firstValueFrom(app.client.send('noop/echo', 3))).toBe(3);
    expect(startSpan).not.toHaveBeenCalled();
  });
});
