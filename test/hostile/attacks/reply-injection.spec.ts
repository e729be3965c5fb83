/**
 * Attack 3 (issue 19): reply injection. The server published each RPC result wherever the request's Response
 * Topic said — onto its own job queue, other services' command topics, `$…` topics — with attacker-chosen
 * Correlation Data (a confused deputy). Now: `$…` topics and topics the service's own handlers listen to are
 * refused by default, `responseTopics` / `allowResponseTopic` narrow it further; a refused request is not run, gets
 * no reply, and is reported by a rate-limited warning.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { MqttAsyncServerOptions } from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { CaptureLogger } from './support/capture-logger.js';

const calls: string[] = [];

@Controller()
class JobsController {
  @MessagePattern('svc/{id}/cmd')
  command(@Payload() data: { op: string }) {
    calls.push(data.op);
    return { done: data.op };
  }

  @MessagePattern('svc/manual', { ack: 'manual' })
  manual(@Payload() data: { op: string }) {
    calls.push(data.op);
    return { done: data.op };
  }

  @EventPattern('workers/jobs/+')
  job(@Payload() data: unknown) {
    calls.push(`job:${JSON.stringify(data)}`);
  }
}

let app: INestMicroservice | undefined;
let broker: MqttAsyncTestBroker | undefined;
afterEach(async () => {
  await app?.close();
  await broker?.close();
  app = undefined;
  calls.length = 0;
});

async function start(options: Partial<MqttAsyncServerOptions> = {}) {
  broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
  const logger = new CaptureLogger();
  const moduleRef = await Test.createTestingModule({ controllers: [JobsController] }).compile();
  app = moduleRef.createNestMicroservice({ strategy: broker.createServer(options), logger });
  await app.listen();
  return { broker, logger };
}

/** A request as an attacker sends it: any Response Topic, any Correlation Data. */
function inject(b: MqttAsyncTestBroker, responseTopic: string, op = 'x') {
  return b.publish('svc/1/cmd', { op }, { properties: { responseTopic, correlationData: Buffer.alloc(2000, 7) } });
}

describe('attack: reply injection (Response Topic as a confused deputy)', () => {
  it("refuses $… topics and the service's own handler topics by default; a private reply topic still works", async () => {
    const { broker: b, logger } = await start();
    await inject(b, 'workers/jobs/evil', 'a');
    await inject(b, 'svc/2/cmd', 'b');
    await inject(b, '$SYS/broker/evil', 'c');
    expect(b.published('workers/#')).toEqual([]);
    expect(b.published((r) => r.topic !== 'svc/1/cmd' && r.topic.startsWith('svc/'))).toEqual([]);
    expect(b.published('$SYS/#')).toEqual([]);
    expect(calls).toEqual([]); // refused requests are not run
    // ...and are still settled, even by an `ack: 'manual'` handler that never saw them.
    await b.publish('svc/manual', { op: 'm' }, { properties: { responseTopic: 'workers/jobs/evil' } });
    expect(calls).toEqual([]);
    expect(b.unacked()).toEqual([]);
    // One warning for the burst (rate-limited), naming what to do.
    const warnings = logger.of('warn').filter((w) => w.includes('refused'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/workers\/jobs\/evil.*responseTopics.*ACL/);

    await inject(b, 'clients/c1/replies', 'ok');
    expect(b.published('clients/c1/replies')).toEqual([expect.objectContaining({ payload: { done: 'ok' } })]);
    expect(await b.request('svc/1/cmd', { op: 'rpc' })).toEqual({ done: 'rpc' });
  });

  it('responseTopics allows only the listed filters; allowResponseTopic has the last word', async () => {
    const { broker: b } = await start({
      responseTopics: ['clients/+/replies', 'nest-mqtt-async-test/replies/#'],
      allowResponseTopic: (topic) => topic !== 'clients/banned/replies',
    });
    await inject(b, 'other-service/admin/cmd', 'a');
    await inject(b, 'clients/banned/replies', 'b');
    await inject(b, 'clients/c1/replies', 'c');
    expect(b.published('other-service/#')).toEqual([]);
    expect(b.published('clients/banned/replies')).toEqual([]);
    expect(b.published('clients/c1/replies')).toHaveLength(1);
    expect(await b.request('svc/1/cmd', { op: 'rpc' })).toEqual({ done: 'rpc' });
  });
});
