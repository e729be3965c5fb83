import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { IsIn, IsString } from 'class-validator';
import { interval, map, take } from 'rxjs';
import { MqttAsyncContext, TopicParam } from '../../../lib/nest/index.js';

export class CommandDto {
  @IsString()
  @IsIn(['reboot', 'ping'])
  op!: string;
}

/** Everything the controllers saw, for assertions. */
export const seen = {
  temperatures: [] as Array<{ id: string; t: unknown; topic: string; pattern: string }>,
  catchAll: [] as string[],
  raw: [] as unknown[],
  userProps: [] as Array<Record<string, string | string[]>>,
  jobs: [] as string[],
  fallback: [] as string[],
  typed: [] as Array<{ data: unknown; params: unknown }>,
  reset() {
    this.typed.length = 0;
    this.fallback.length = 0;
    this.temperatures.length = 0;
    this.catchAll.length = 0;
    this.raw.length = 0;
    this.userProps.length = 0;
    this.jobs.length = 0;
  },
};

@Controller()
export class DevicesController {
  @MessagePattern('devices/{id}/cmd', { qos: 1 })
  @UsePipes(new ValidationPipe())
  command(@Payload() cmd: CommandDto, @TopicParam('id') id: string, @Ctx() ctx: MqttAsyncContext) {
    return { id, accepted: true, op: cmd.op, pattern: ctx.getPattern() };
  }

  @MessagePattern('devices/special/cmd')
  special() {
    return { special: true };
  }

  @MessagePattern('devices/#')
  anyDevice(@Ctx() ctx: MqttAsyncContext) {
    seen.fallback.push(ctx.getTopic());
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
    return interval(5).pipe(
      take(n),
      map((i) => i + 1),
    );
  }

  @EventPattern<string>('temperature-sensors/{deviceId}/temperature')
  temperature(@Payload() t: unknown, @TopicParam('deviceId') id: string, @Ctx() ctx: MqttAsyncContext) {
    seen.temperatures.push({ id, t, topic: ctx.getTopic(), pattern: ctx.getPattern() });
  }

  @EventPattern('temperature-sensors/#')
  everything(@Ctx() ctx: MqttAsyncContext) {
    seen.catchAll.push(ctx.getTopic());
  }

  @EventPattern<string>('raw/+')
  raw(@Payload() data: unknown, @Ctx() ctx: MqttAsyncContext) {
    seen.raw.push(data);
    seen.userProps.push(ctx.getUserProperties());
  }

  @EventPattern<string>('typed/{a}/:b')
  typed(@Payload() data: unknown, @TopicParam() params: Record<string, string>) {
    seen.typed.push({ data, params });
  }

  @EventPattern('strict/{id}')
  @UsePipes(new ValidationPipe())
  strict(@Payload() _cmd: CommandDto) {}
}
