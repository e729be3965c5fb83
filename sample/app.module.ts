import { type DynamicModule, Module } from '@nestjs/common';
import { ClientsModule } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import { ClientMqttAsync, type MqttAsyncClientOptions, MqttAsyncHealthIndicator } from '../lib/nest/index.js';
import { DevicesController } from './devices.controller.js';
import { HealthController } from './health.controller.js';
import { EVENTS_CLIENT, JobsController } from './jobs.controller.js';
import { ReadingsService } from './readings.service.js';

@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: the Nest dynamic-module idiom
export class AppModule {
  /** The sample's module, publishing through a `ClientMqttAsync` with these options. */
  static register(mqtt: MqttAsyncClientOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ClientsModule.register([{ name: EVENTS_CLIENT, customClass: ClientMqttAsync, options: mqtt }]),
        TerminusModule,
      ],
      controllers: [DevicesController, JobsController, HealthController],
      providers: [ReadingsService, MqttAsyncHealthIndicator],
    };
  }
}
