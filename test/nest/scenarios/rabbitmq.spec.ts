import { afterAll, beforeAll } from '@jest/globals';
import { describeRabbitmq, type RabbitmqHandle, startRabbitmq } from '../../support/rabbitmq.js';
import { runScenarios } from './suite.js';
import { brokerWorld } from './world.js';

// One node for the file (boot takes 5–20 s); each scenario gets its own world (clients) on it. MQTT 3.1.1 only.
describeRabbitmq('transport scenarios on RabbitMQ', () => {
  let rabbit: RabbitmqHandle;
  beforeAll(async () => {
    rabbit = await startRabbitmq();
  }, 120_000);
  afterAll(() => rabbit?.stop(), 30_000);
  runScenarios((version) => brokerWorld('rabbitmq', rabbit.url, version, async () => undefined), {
    versions: [4],
    unsupported: {
      'delivers with QoS = min(publish, subscription) and passes user properties on MQTT 5 only':
        'no QoS 2 in RabbitMQ 3.x (a QoS 2 publish rejects, see test/interop/rabbitmq.spec.ts)',
      'sends retained messages to new subscriptions (per Retain Handling), flagged as retained':
        'RabbitMQ 3.x sends retained messages only to filters without wildcards',
      'gives each message of a shared group to exactly one member': 'no shared subscriptions in RabbitMQ 3.x',
    },
  });
});
