import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type IdiomApp, startIdiomApp, waitUntilAnswering } from './harness.js';
import { MathController, seenEvents } from './math.controller.js';
import { idiomModes, type RunningIdiomBroker, until } from './modes.js';

/**
 * The behaviours of Nest's `integration/microservices/e2e/sum-mqtt.spec.ts` (its 14 cases), in every mode: object
 * patterns, Promise and Observable results, streams, concurrent requests, events, `#` / `+` wildcards and
 * `$share/<group>/` patterns written by hand. Only the wiring (modes.ts) differs from the built-in transport.
 */
describe.each(idiomModes)('Nest sum-mqtt idioms: $name', (mode) => {
  const maybe = mode.available ? it : it.skip;
  let broker: RunningIdiomBroker;
  let running: IdiomApp;
  const numbers = [1, 2, 3, 4, 5];

  beforeAll(async () => {
    if (!mode.available) return;
    broker = await mode.startBroker();
    running = await startIdiomApp(mode, broker, { controllers: [MathController] });
    await waitUntilAnswering(running.client, { cmd: 'sum' }, [1]);
  });

  afterAll(async () => {
    await running?.close();
    await broker?.stop();
  });

  beforeEach(() => seenEvents.clear());

  maybe('an object pattern { cmd } answers (sync handler)', async () => {
    expect(await running.post('/?command=sum', numbers)).toEqual({ status: 200, body: '15' });
  });

  maybe('an async handler answers', async () => {
    expect(await running.post('/?command=asyncSum', numbers)).toEqual({ status: 200, body: '15' });
  });

  maybe('an Observable handler answers', async () => {
    expect(await running.post('/?command=streamSum', numbers)).toEqual({ status: 200, body: '15' });
  });

  maybe('ten concurrent requests each get their own answer', async () => {
    const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 10 }, (_, k) => b * 10 + k + 1));
    expect(await running.post('/concurrent', batches)).toEqual({ status: 200, body: 'true' });
  });

  maybe('a streamed reply reaches the caller value by value', async () => {
    expect(await running.post('/stream', numbers)).toEqual({ status: 200, body: '15' });
  });

  maybe('an event reaches its @EventPattern', async () => {
    await running.post('/emit?topic=notification');
    await until(() => seenEvents.has('notification'), "the 'notification' event");
  });

  it.each([
    ['wildcard-event/test', 'wildcard-event/#'],
    ['wildcard-event2/test/test', 'wildcard-event2/+/test'],
    ['shared-wildcard-event/test', '$share/test-group/shared-wildcard-event/#'],
    ['shared-wildcard-event2/test/test', '$share/test-group/shared-wildcard-event2/+/test'],
  ])('an event on %s reaches @EventPattern(%s)', async (topic, pattern) => {
    if (!mode.available) return;
    await running.post(`/emit?topic=${encodeURIComponent(topic)}`);
    await until(() => seenEvents.has(pattern), `the event on ${topic}`);
  });

  it.each([
    ['wildcard-message/test', 'wildcard-message/#'],
    ['wildcard-message2/test/test', 'wildcard-message2/+/test'],
    ['shared-wildcard-message/test', '$share/test-group/shared-wildcard-message/#'],
    ['shared-wildcard-message2/test/test', '$share/test-group/shared-wildcard-message2/+/test'],
  ])('a request on %s is answered by @MessagePattern(%s)', async (topic) => {
    if (!mode.available) return;
    expect(await running.post(`/send?topic=${encodeURIComponent(topic)}`, numbers)).toEqual({
      status: 201,
      body: '15',
    });
  });
});
