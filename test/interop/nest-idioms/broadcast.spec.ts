import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BroadcastController, streams } from './broadcast.controller.js';
import { type IdiomApp, startIdiomApp } from './harness.js';
import { idiomModes, type RunningIdiomBroker, until } from './modes.js';

/**
 * The behaviours of Nest's `e2e/broadcast-mqtt.spec.ts` in every mode: two microservices of one app both answer a
 * request (neither is in a shared group), with Observables that never complete; the app then closes. Our servers
 * get a `shutdownTimeout` longer than the test's timeout: `close()` must not wait for those streams but end them,
 * as the built-in transport closes at once.
 */
describe.each(idiomModes)('Nest broadcast-mqtt idioms: $name', (mode) => {
  const maybe = mode.available ? it : it.skip;
  let broker: RunningIdiomBroker;
  let running: IdiomApp | undefined;

  beforeEach(async () => {
    if (!mode.available) return;
    streams.started = 0;
    streams.ended = 0;
    broker = await mode.startBroker();
    running = await startIdiomApp(mode, broker, {
      controllers: [BroadcastController],
      microservices: 2,
      settings: { shutdownTimeout: 120_000 },
    });
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
    await broker?.stop();
  });

  maybe('both microservices answer one request (2 subscribers)', async () => {
    // The built-in server subscribes after listen() resolved: ask until both answer.
    let res = await running!.post('/broadcast', undefined, 'GET');
    for (let i = 0; i < 20 && res.body !== '2'; i++) res = await running!.post('/broadcast', undefined, 'GET');
    expect(res).toEqual({ status: 200, body: '2' });
  });

  maybe('close() ends never-completing reply streams instead of waiting for them', async () => {
    expect((await running!.post('/broadcast', undefined, 'GET')).status).toBe(200);
    const app = running!;
    running = undefined;
    await app.close();
    if (mode.ours.server) expect(streams.ended).toBe(streams.started);
  });

  // Not applicable (not our server) is an expected skip; a missing broker is not (REQUIRE_BROKERS=1 fails on it).
  (mode.available && mode.ours.server ? it : it.skip)(
    `a requester whose stream is running gets a final error saying the server is closing${mode.ours.server ? '' : ' (expected skip)'}`,
    async () => {
      const values: number[] = [];
      let error: unknown;
      running!.client.send<number>({ cmd: 'broadcast' }, {}).subscribe({
        next: (v) => values.push(v),
        error: (err) => {
          error = err;
        },
      });
      await until(() => values.length === 2, 'both answers');
      await Promise.all(running!.app.getMicroservices().map((ms) => ms.close()));
      await until(() => error !== undefined, 'the closing error');
      expect(String((error as { message?: unknown }).message)).toMatch(/server is closing/);
      expect(streams.ended).toBe(streams.started);
    },
  );
});
