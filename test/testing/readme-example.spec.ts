// readme-example:start
import { describe, expect, it } from '@jest/globals';
import { Controller, Inject, Module } from '@nestjs/common';
import { type ClientProxy, ClientsModule, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { ClientMqttAsync, TopicParam } from '../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../lib/testing/index.js';

@Controller()
class DevicesController {
  constructor(@Inject('MQTT') private readonly mqtt: ClientProxy) {}

  @EventPattern<string>('temperature-sensors/{deviceId}/temperature')
  async temperature(@Payload() celsius: number, @TopicParam('deviceId') deviceId: string) {
    if (celsius > 30) await lastValueFrom(this.mqtt.emit('devices/events', { deviceId, alert: 'hot', celsius }));
  }

  @MessagePattern('devices/{id}/cmd', { qos: 1 })
  command(@Payload() cmd: { op: string }, @TopicParam('id') id: string) {
    return { id, accepted: cmd.op === 'reboot' };
  }
}

@Module({
  imports: [
    ClientsModule.register([
      { name: 'MQTT', customClass: ClientMqttAsync, options: { url: 'mqtt://broker:1883', protocolVersion: 5 } },
    ]),
  ],
  controllers: [DevicesController],
})
class AppModule {}

describe('devices app', () => {
  it('raises an alert for a hot reading and answers commands', async () => {
    const broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider('MQTT')
      .useValue(broker.createClient())
      .compile();
    const app = moduleRef.createNestMicroservice({ strategy: broker.createServer(), logger: false });
    await app.listen();

    await broker.publish('temperature-sensors/t1/temperature', 35.5); // resolves once the handler settled
    expect(broker.published('devices/events')).toEqual([
      expect.objectContaining({ payload: { deviceId: 't1', alert: 'hot', celsius: 35.5 } }),
    ]);
    await broker.publish('temperature-sensors/t2/temperature', 20);
    expect(broker.published('devices/events')).toHaveLength(1);

    expect(await broker.request('devices/t1/cmd', { op: 'reboot' })).toEqual({ id: 't1', accepted: true });

    await app.close();
    await broker.close();
  });
});

// readme-example:end

import { readFileSync } from 'node:fs';

describe('README.md, "Testing without a broker"', () => {
  it('shows exactly the example tested above (with the package import paths)', () => {
    const here = readFileSync(new URL(import.meta.url), 'utf8');
    const tested = here.slice(here.indexOf('// readme-example:start\n') + 24, here.indexOf('// readme-example:end'));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Testing without a broker'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const asPackage = tested
      .replace("'../../lib/nest/index.js'", "'nest-mqtt-async'")
      .replace("'../../lib/testing/index.js'", "'nest-mqtt-async/testing'");
    expect(block?.trim()).toBe(asPackage.trim());
  });
});
