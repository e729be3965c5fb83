import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { MqttClient } from 'mqtt';
import { firstValueFrom, map, type Observable, skipWhile } from 'rxjs';
import { MqttAsyncContext, REPLY_ERROR_PROPERTY, ServerMqttAsync } from '../../../lib/nest/index.js';
import { describeIf, hasMosquitto, type RunningBroker, startMosquitto } from '../../support/mosquitto.js';
import { outsideClient, rpc } from './helpers.js';
import { testConnector } from './support/connector.js';

const suite = describeIf(hasMosquitto, 'mosquitto');

@Injectable()
class TenantGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = context.switchToRpc().getContext<MqttAsyncContext>();
    return ctx.getUserProperties().tenant === 'acme';
  }
}

@Injectable()
class WrapInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const topic = context.switchToRpc().getContext<MqttAsyncContext>().getTopic();
    return next.handle().pipe(map((value) => ({ topic, value })));
  }
}

@Controller()
class SecureController {
  @MessagePattern('secure/{op}')
  @UseGuards(TenantGuard)
  @UseInterceptors(WrapInterceptor)
  op(@Payload() n: number, @Ctx() ctx: MqttAsyncContext) {
    return { n, op: ctx.getParams().op, qos: ctx.getQos(), retained: ctx.isRetained() };
  }
}

suite('ServerMqttAsync with Nest guards, interceptors and a hybrid app', () => {
  let broker: RunningBroker;
  let outside: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    outside = await outsideClient(broker.url);
  });

  afterAll(async () => {
    await outside?.endAsync();
    await broker?.stop();
  });

  it('runs guards and interceptors, works under connectMicroservice, reports status', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [SecureController] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const server = new ServerMqttAsync({ url: broker.url, protocolVersion: 5, connector: testConnector });
    const statuses: string[] = [];
    server.status.subscribe((s) => statuses.push(s));
    app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.init();
    expect(server.unwrap()).toBeDefined();
    expect(statuses).toContain('connected');

    const [allowed] = await rpc(outside, 'secure/double', '21', { userProperties: { tenant: 'acme' } });
    expect(JSON.parse(allowed!.payload)).toEqual({
      topic: 'secure/double',
      value: { n: 21, op: 'double', qos: 1, retained: false },
    });

    const [denied] = await rpc(outside, 'secure/double', '21', { userProperties: { tenant: 'other' } });
    expect(denied!.userProperties[REPLY_ERROR_PROPERTY]).toBe('1');
    expect(JSON.parse(denied!.payload).err.message).toBe('Forbidden resource');

    const closed = firstValueFrom(server.status.pipe(skipWhile((s) => s !== 'closed')));
    await app.close();
    expect(await closed).toBe('closed');
  });
});
