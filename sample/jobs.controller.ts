import { Controller, Inject, Logger, UseFilters, UsePipes, ValidationPipe } from '@nestjs/common';
import { ClientProxy, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import {
  AsyncApiOperation,
  AsyncApiPublishes,
  MqttAsyncContext,
  MqttAsyncExceptionFilter,
  MqttAsyncRecordBuilder,
} from '../lib/nest/index.js';
import { JobDto, JobResultDto } from './dto.js';

/** Injection token of the `ClientMqttAsync` the sample publishes with. */
export const EVENTS_CLIENT = 'EVENTS_CLIENT';

/**
 * A job pool: every instance of the service joins the shared group `pool-a`, so each job goes to exactly one
 * instance; up to 5 jobs run at once per instance, and a job is acknowledged only when its result is published.
 */
@Controller()
@UseFilters(MqttAsyncExceptionFilter)
export class JobsController {
  private readonly logger = new Logger('Jobs');

  constructor(@Inject(EVENTS_CLIENT) private readonly events: ClientProxy) {}

  @EventPattern<string>('workers/jobs/#', { shared: 'pool-a', qos: 1, concurrency: 5, ack: 'manual' })
  @UsePipes(new ValidationPipe())
  @AsyncApiOperation({ summary: 'Jobs for the worker pool; each job is handled by one instance of the group.' })
  @AsyncApiPublishes('devices/events', { payload: JobResultDto, qos: 1, summary: 'The result of each job.' })
  async job(@Payload() job: JobDto, @Ctx() ctx: MqttAsyncContext): Promise<void> {
    try {
      const result: JobResultDto = {
        jobId: job.jobId,
        sum: job.numbers.reduce((a, b) => a + b, 0),
        worker: `pid-${process.pid}`,
      };
      await firstValueFrom(this.events.emit('devices/events', new MqttAsyncRecordBuilder(result).setQos(1).build()), {
        defaultValue: undefined,
      });
      this.logger.log(`job ${job.jobId} (${ctx.getTopic()}) → sum ${result.sum}`);
      await ctx.ack();
    } catch (err) {
      this.logger.error(`job ${job.jobId} failed: ${(err as Error).message}`);
      await ctx.nack();
    }
  }
}
