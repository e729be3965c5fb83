/**
 * Attack 7 (issue 19): dead-letter loop. With a `deadLetterTopic` that a failing handler's own filter matches, one
 * message was dead-lettered back into that handler, failed again, and looped forever (1,475 messages in 3 s). Now
 * `listen()` refuses such a configuration with `MqttAsyncConfigError`.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { MqttAsyncConfigError } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';

let failures = 0;

@Controller()
class JobsController {
  @EventPattern('jobs/+', { shared: 'workers' })
  job(@Payload() _data: unknown) {
    failures++;
    throw new Error('this job always fails');
  }
}

let app: INestMicroservice | undefined;
let broker: MqttAsyncTestBroker | undefined;
afterEach(async () => {
  await app?.close().catch(() => undefined);
  await broker?.close();
  app = undefined;
  failures = 0;
});

async function start(deadLetterTopic: string) {
  broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
  const moduleRef = await Test.createTestingModule({ controllers: [JobsController] }).compile();
  app = moduleRef.createNestMicroservice({
    strategy: broker.createServer({ deadLetterTopic }),
    logger: new CaptureLogger(),
  });
  return app.listen();
}

describe('attack: dead-letter loop', () => {
  it("refuses at listen() a deadLetterTopic one of the service's handlers subscribes to", async () => {
    const err = await start('jobs/dead').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MqttAsyncConfigError);
    expect((err as Error).message).toMatch(/'jobs\/dead' matches the handler pattern 'jobs\/\+'/);
    expect(failures).toBe(0);
  });

  it('a deadLetterTopic outside the handlers gets the failed message once', async () => {
    await start('dead-letters/jobs');
    await broker!.publish('jobs/1', { n: 1 });
    expect(failures).toBe(1);
    expect(broker!.published('dead-letters/#')).toHaveLength(1);
  });
});
