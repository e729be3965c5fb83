import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { type ClientProxy, ClientsModule, EventPattern, MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { MATH_CLIENT } from './math.controller.js';
import { idiomModes, type RunningIdiomBroker, type ServerSettings, until } from './modes.js';

/** What ran, on either instance. */
const runs: string[] = [];
const count = (what: string) => runs.filter((r) => r === what).length;

@Controller()
class WorkController {
  @MessagePattern({ cmd: 'work' })
  work(n: number) {
    runs.push(`work ${n}`);
    return n * 2;
  }

  @EventPattern('work/done')
  done(n: number) {
    runs.push(`done ${n}`);
  }

  /** Opted out of the group: every instance gets it. */
  @EventPattern('work/broadcast', { shared: false })
  broadcast(n: number) {
    runs.push(`broadcast ${n}`);
  }
}

/**
 * Two instances of one service (what `replicas: 2` gives). Without `group`, both receive every message: each
 * `@MessagePattern` request runs twice and is answered twice. With `group: 'math'` every handler is a member of one
 * shared group: each request and event runs once; `shared: false` opts a handler out.
 */
describe.each(idiomModes.filter((m) => m.ours.server && m.ours.client))('two instances of a service: $name', (mode) => {
  const maybe = mode.available ? it : it.skip;
  let broker: RunningIdiomBroker;
  let client: ClientProxy;
  let callerClose: () => Promise<void>;

  async function instances(settings: ServerSettings): Promise<INestMicroservice[]> {
    const apps: INestMicroservice[] = [];
    for (let i = 0; i < 2; i++) {
      const moduleRef = await Test.createTestingModule({ controllers: [WorkController] }).compile();
      const app = moduleRef.createNestMicroservice({ ...mode.server(broker, settings), logger: false });
      await app.listen();
      apps.push(app);
    }
    return apps;
  }

  beforeAll(async () => {
    if (!mode.available) return;
    broker = await mode.startBroker();
    const moduleRef = await Test.createTestingModule({
      imports: [ClientsModule.register([mode.client(broker, MATH_CLIENT)])],
    }).compile();
    const caller = moduleRef.createNestApplication({ logger: false });
    await caller.init();
    client = caller.get<ClientProxy>(MATH_CLIENT);
    await client.connect();
    callerClose = () => caller.close();
  });

  afterAll(async () => {
    await callerClose?.();
    await broker?.stop();
  });

  beforeEach(() => {
    runs.length = 0;
  });

  maybe('without group: both instances run every request (and both answer)', async () => {
    const apps = await instances({});
    try {
      const answers = await lastValueFrom(client.send<number>({ cmd: 'work' }, 1).pipe(toArray()));
      await until(() => runs.length === 2, 'both instances');
      expect(runs).toEqual(['work 1', 'work 1']);
      expect(answers[0]).toBe(2);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  maybe('with group: each request and event runs once; shared: false still reaches every instance', async () => {
    const apps = await instances({ group: 'math' });
    try {
      for (let n = 1; n <= 4; n++) expect(await firstValueFrom(client.send<number>({ cmd: 'work' }, n))).toBe(n * 2);
      for (let n = 1; n <= 4; n++) await lastValueFrom(client.emit('work/done', n));
      await lastValueFrom(client.emit('work/broadcast', 9));
      await until(() => count('broadcast 9') === 2 && runs.filter((r) => r.startsWith('done')).length >= 4, 'all');
      // Sentinel: a second broadcast reaches both instances after any duplicate that was still on its way.
      await lastValueFrom(client.emit('work/broadcast', 10));
      await until(() => count('broadcast 10') === 2, 'the sentinel at both instances');
      for (let n = 1; n <= 4; n++) {
        expect(count(`work ${n}`)).toBe(1);
        expect(count(`done ${n}`)).toBe(1);
      }
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});
