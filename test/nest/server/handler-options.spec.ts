import { describe, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { MqttAsyncPatternError, mqttOptions } from '../../../lib/nest/index.js';
import { MqttAsyncRouter } from '../../../lib/nest/routing/router.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';

@Controller()
class TypoController {
  @MessagePattern('orders/{id}', { acks: 'manual' })
  order() {
    return 1;
  }
}

@Controller()
class CheckedController {
  @EventPattern<string>('jobs/{id}', mqttOptions({ ack: 'manual', shared: 'workers', concurrency: 2 }))
  job() {}
}

describe('handler option keys', () => {
  it('an unknown key fails naming the handler, the key and the near miss', () => {
    const router = new MqttAsyncRouter<string>();
    const fail = () => router.add('a', 'x', false, { acks: 'manual' } as never, "@MessagePattern('a')");
    expect(fail).toThrow(MqttAsyncPatternError);
    expect(fail).toThrow(/@MessagePattern\('a'\): unknown option 'acks' \(did you mean 'ack'\?\)/);
    expect(() => router.add('b', 'x', false, { colour: 1 } as never, 'h')).toThrow(
      /unknown option 'colour'; the options are/,
    );
  });

  it('fails listen() of the microservice, naming the handler', async () => {
    const broker = new MqttAsyncTestBroker();
    const app = (await Test.createTestingModule({ controllers: [TypoController] }).compile()).createNestMicroservice({
      strategy: broker.createServer(),
      logger: false,
    });
    await expect(app.listen()).rejects.toThrow(/orders\/\{id\}.*unknown option 'acks'/);
    await app.close().catch(() => undefined);
    await broker.close();
  });

  it('mqttOptions() is type-checked and works as the extras of a pattern', async () => {
    // @ts-expect-error: 'acks' is not a handler option
    mqttOptions({ acks: 'manual' });
    // @ts-expect-error: concurrency is a number
    mqttOptions({ concurrency: 'many' });
    const broker = new MqttAsyncTestBroker();
    const app = (await Test.createTestingModule({ controllers: [CheckedController] }).compile()).createNestMicroservice(
      { strategy: broker.createServer(), logger: false },
    );
    await app.listen();
    await app.close();
    await broker.close();
  });
});
