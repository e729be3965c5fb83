import { Controller, Get, Logger, ParseFloatPipe, UseFilters, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { AsyncApiOperation, MqttAsyncContext, MqttAsyncExceptionFilter, TopicParam } from '../lib/nest/index.js';
import { CommandDto, CommandResultDto } from './dto.js';
import { type Reading, ReadingsService } from './readings.service.js';

/** Temperature sensors (events) and device commands (MQTT 5 request/response), plus an HTTP view. */
@Controller()
export class DevicesController {
  private readonly logger = new Logger('Devices');

  constructor(private readonly readings: ReadingsService) {}

  @EventPattern<string>('temperature-sensors/{deviceId}/temperature', { qos: 1 })
  @UseFilters(MqttAsyncExceptionFilter)
  @AsyncApiOperation({ summary: 'A sensor reports its temperature in °C (a JSON number).' })
  temperature(@Payload(ParseFloatPipe) celsius: number, @TopicParam('deviceId') deviceId: string) {
    this.readings.record(deviceId, celsius);
    this.logger.log(`temperature ${deviceId}: ${celsius} °C`);
  }

  @MessagePattern('devices/{id}/cmd', { qos: 1 })
  @UseFilters(MqttAsyncExceptionFilter) // a validation error reaches the caller with its message
  @UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }))
  @AsyncApiOperation({
    summary: 'Send a command to a device; the reply says whether it was accepted.',
    reply: CommandResultDto,
  })
  command(@Payload() cmd: CommandDto, @TopicParam('id') id: string, @Ctx() ctx: MqttAsyncContext): CommandResultDto {
    this.logger.log(`command ${cmd.op} for ${id} (reply to ${ctx.getProperties().responseTopic ?? 'nobody'})`);
    return { id, op: cmd.op, accepted: true };
  }

  /** HTTP side of the hybrid app: the latest reading per device. */
  @Get('temperatures')
  temperatures(): Reading[] {
    return this.readings.all();
  }
}
