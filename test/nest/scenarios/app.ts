import { Controller, type INestMicroservice, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { IsIn, IsString } from 'class-validator';
import { interval, map, take } from 'rxjs';
import type { MessageHandledEvent, MqttAsyncServerOptions, ServerMqttAsync } from '../../../lib/nest/index.js';
import { type MqttAsyncContext, MqttAsyncExceptionFilter, TopicParam } from '../../../lib/nest/index.js';
import { eventually } from '../../support/eventually.js';
import type { World } from './world.js';

export { eventually };

export class CommandDto {
  @IsString()
  @IsIn(['reboot', 'ping'])
  op!: string;
}

export interface Seen {
  handler: string;
  topic: string;
  params: Record<string, string>;
  data: unknown;
  qos: number;
  retained: boolean;
  dup: boolean;
  userProperties: Record<string, string | string[]>;
  contentType: string | undefined;
}

/** What the handlers saw, in order. */
export const seen: Seen[] = [];
export const seenBy = (handler: string) => seen.filter((s) => s.handler === handler);

function record(handler: string, data: unknown, ctx: MqttAsyncContext): void {
  seen.push({
    handler,
    topic: ctx.getTopic(),
    params: ctx.getParams(),
    data,
    qos: ctx.getQos(),
    retained: ctx.isRetained(),
    dup: ctx.getMessage().dup,
    userProperties: ctx.getUserProperties(),
    contentType: ctx.getProperties().contentType,
  });
}

/** Gate for the concurrency scenario: handlers wait until `open()` is called. */
export const gate = {
  inside: 0,
  max: 0,
  release: undefined as (() => void) | undefined,
  opened: Promise.resolve(),
  reset() {
    this.inside = 0;
    this.max = 0;
    this.opened = new Promise<void>((resolve) => {
      this.release = resolve;
    });
  },
};

@Controller()
export class RpcController {
  @MessagePattern('devices/{id}/cmd', { qos: 1 })
  @UsePipes(new ValidationPipe())
  command(@Payload() cmd: CommandDto, @TopicParam('id') id: string, @Ctx() ctx: MqttAsyncContext) {
    return { id, op: cmd.op, pattern: ctx.getPattern() };
  }

  @MessagePattern('devices/special/cmd')
  special() {
    return { special: true };
  }

  @MessagePattern('devices/#')
  fallback(@Ctx() ctx: MqttAsyncContext) {
    return { fallback: ctx.getTopic() };
  }

  @MessagePattern('math/:op')
  math(@Payload() numbers: number[], @TopicParam('op') op: string) {
    if (op === 'fail') throw new Error('boom');
    if (op === 'rpc-fail') throw new RpcException({ code: 'E_MATH', message: 'cannot do that' });
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('stream/count')
  count(@Payload() n: number) {
    return interval(1).pipe(
      take(n),
      map((i) => i + 1),
    );
  }
}

@Controller()
export class EventsController {
  @EventPattern<string>('sensors/{deviceId}/temperature')
  temperature(@Payload() t: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('temperature', t, ctx);
  }

  @EventPattern<string>('sensors/#')
  everything(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('everything', data, ctx);
  }

  @EventPattern<string>('typed/{a}/:b/+')
  typed(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('typed', data, ctx);
  }

  @EventPattern<string>('overlap/+/c')
  overlapC(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('overlapC', data, ctx);
  }

  @EventPattern<string>('overlap/b/+')
  overlapB(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('overlapB', data, ctx);
  }

  @EventPattern<string>('payload/+')
  payload(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('payload', data, ctx);
  }

  @EventPattern<string>('strict/{id}')
  @UsePipes(new ValidationPipe())
  strict(@Payload() cmd: CommandDto, @Ctx() ctx: MqttAsyncContext) {
    record('strict', cmd, ctx);
  }

  @EventPattern<string>('retained/+', { qos: 1 })
  retained(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('retained', data, ctx);
  }

  @EventPattern<string>('retained-never/+', { qos: 1, retainHandling: 2 })
  retainedNever(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('retainedNever', data, ctx);
  }

  @EventPattern<string>('qos0/+', { qos: 0 })
  qos0(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('qos0', data, ctx);
  }

  @EventPattern<string>('slow/+', { concurrency: 3 })
  async slow(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    gate.inside++;
    gate.max = Math.max(gate.max, gate.inside);
    if (gate.inside === 3) gate.release?.();
    await gate.opened;
    gate.inside--;
    record('slow', data, ctx);
  }

  @EventPattern<string>('ordered/+')
  async ordered(@Payload() data: { n: number }, @Ctx() ctx: MqttAsyncContext) {
    for (let i = 0; i < 3 - (data.n % 3); i++) await new Promise((resolve) => setImmediate(resolve));
    record('ordered', data, ctx);
  }
}

@Controller()
export class AckController {
  @EventPattern<string>('jobs/auto/+', { qos: 1, ack: 'auto' })
  auto(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('auto', data, ctx);
  }

  @EventPattern<string>('jobs/after/+', { qos: 1, ack: 'after' })
  after(@Payload() data: { fail?: boolean }, @Ctx() ctx: MqttAsyncContext) {
    record('after', data, ctx);
    if (data.fail) throw new Error('job failed');
  }

  @EventPattern<string>('jobs/gated/+', { qos: 1, ack: 'after' })
  async gated(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    gate.inside++;
    await gate.opened;
    record('gated', data, ctx);
  }

  @EventPattern<string>('jobs/manual/+', { qos: 1, ack: 'manual' })
  async manual(@Payload() data: { ack?: boolean }, @Ctx() ctx: MqttAsyncContext) {
    record('manual', data, ctx);
    if (data.ack) await ctx.ack();
  }
}

@Controller()
export class SharedController {
  @EventPattern<string>('work/{n}', { shared: 'pool', qos: 1 })
  work(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    record('work', data, ctx);
  }
}

export interface StartedApp {
  app: INestMicroservice;
  server: ServerMqttAsync;
  handled: MessageHandledEvent[];
}

/** Compiles a module with `controllers` and runs it as a microservice on the world's broker. */
export async function startApp(
  world: World,
  controllers: Array<new (...args: never[]) => unknown>,
  options: Partial<MqttAsyncServerOptions> = {},
): Promise<StartedApp> {
  const moduleRef = await Test.createTestingModule({ controllers }).compile();
  const server = world.createServer(options);
  const handled: MessageHandledEvent[] = [];
  server.on('message:handled', (event) => handled.push(event));
  const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
  app.useGlobalFilters(new MqttAsyncExceptionFilter());
  await app.listen();
  return { app, server, handled };
}
