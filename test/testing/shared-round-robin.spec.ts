import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { MqttDriverClient, Subscription } from '../../lib/driver/index.js';
import { MqttAsyncTestBroker } from '../../lib/testing/index.js';

// Memory-only: how a real broker splits a group is its own choice (mosquitto rotates, others pick at random),
// so the parity suites only check "one member each"; the in-memory broker promises a deterministic round robin.

/** Collects a Subscription's payloads as they arrive. */
function record(sub: Subscription): string[] {
  const got: string[] = [];
  void (async () => {
    for await (const m of sub) got.push(m.payload.toString());
  })();
  return got;
}

/** Lets the readers take what the (synchronous) in-memory broker has already delivered. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

let broker: MqttAsyncTestBroker;
let pub: MqttDriverClient;
let next = 0;

async function publishJobs(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const n = next++;
    await pub.publish(`jobs/${n}`, String(n), { qos: 1 });
  }
  await settle();
}

async function member(clientId: string): Promise<Subscription> {
  const client = await broker.connect({ clientId });
  return client.subscribe('$share/pool/jobs/+', { qos: 1 });
}

beforeEach(async () => {
  broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
  pub = await broker.connect({ clientId: 'pub' });
  next = 0;
});
afterEach(async () => {
  await broker.close();
});

describe('$share group round robin (in-memory broker)', () => {
  it('hands messages to the members in turn, continues with the next one when a member leaves, and a plain subscriber gets all', async () => {
    const watcher = await (await broker.connect({ clientId: 'watcher' })).subscribe('jobs/#', { qos: 1 });
    const subs = { a: await member('a'), b: await member('b'), c: await member('c') };
    const got = { a: record(subs.a), b: record(subs.b), c: record(subs.c) };
    const all = record(watcher);

    await publishJobs(4);
    expect(got).toEqual({ a: ['0', '3'], b: ['1'], c: ['2'] });

    // b was next in line; the turn passes to c, not back to a.
    await subs.b.unsubscribe();
    await publishJobs(4);
    expect(got).toEqual({ a: ['0', '3', '5', '7'], b: ['1'], c: ['2', '4', '6'] });

    expect(all).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(broker.unacked()).toEqual([]);
  });

  it('puts a member that joins late at the end of the rotation', async () => {
    const subs = { a: await member('a'), b: await member('b') };
    const got: Record<string, string[]> = { a: record(subs.a), b: record(subs.b) };
    await publishJobs(3);
    got.c = record(await member('c'));
    await publishJobs(4);
    expect(got).toEqual({ a: ['0', '2', '4'], b: ['1', '3', '6'], c: ['5'] });
  });
});
