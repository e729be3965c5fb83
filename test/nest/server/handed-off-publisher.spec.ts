import { describe, expect, it } from '@jest/globals';
import type { MqttDriverClient, PublishResult } from '../../../lib/driver/index.js';
import { HandedOffPublisher, MAX_UNCONFIRMED_PUBLISHES } from '../../../lib/nest/server/handed-off-publisher.js';

/** A driver client whose publishes stay unconfirmed until the test settles them (stands in for the broker). */
function fakeClient() {
  const pending: Array<{ topic: string; resolve: (r: PublishResult) => void; reject: (e: Error) => void }> = [];
  const client = {
    protocolVersion: 5,
    publish(topic: string) {
      return new Promise<PublishResult>((resolve, reject) => pending.push({ topic, resolve, reject }));
    },
    describeSelf() {
      return this === client;
    },
  };
  return { client: client as unknown as MqttDriverClient & { describeSelf(): boolean }, pending };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('HandedOffPublisher', () => {
  it('resolves publish() once handed to the driver, before the broker confirms', async () => {
    const { client, pending } = fakeClient();
    const publisher = new HandedOffPublisher(() => {});
    const wrapped = publisher.wrap(client);
    await wrapped.publish('replies/1', 'x');
    expect(pending).toHaveLength(1);
    expect(publisher.pending).toBe(1);
    let settled = false;
    const all = publisher.settled().then(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);
    pending[0]!.resolve({ reasonCode: 0 });
    await all;
    expect(publisher.pending).toBe(0);
  });

  it('reports a failed confirmation with its topic', async () => {
    const { client, pending } = fakeClient();
    const failures: Array<[unknown, string]> = [];
    const publisher = new HandedOffPublisher((err, topic) => failures.push([err, topic]));
    await publisher.wrap(client).publish('dead/letters', 'x');
    pending[0]!.reject(new Error('refused'));
    await publisher.settled();
    expect(failures).toEqual([[new Error('refused'), 'dead/letters']]);
  });

  it('waits for its own confirmation beyond the unconfirmed limit (backpressure)', async () => {
    const { client, pending } = fakeClient();
    const wrapped = new HandedOffPublisher(() => {}).wrap(client);
    for (let i = 0; i < MAX_UNCONFIRMED_PUBLISHES; i++) await wrapped.publish(`t/${i}`, 'x');
    let done = false;
    const over = wrapped.publish('t/over', 'x').then(() => {
      done = true;
    });
    await flush();
    expect(done).toBe(false);
    pending.at(-1)!.resolve({ reasonCode: 0 });
    await over;
    expect(done).toBe(true);
  });

  it('passes every other member through to the client, bound to it', () => {
    const { client } = fakeClient();
    const publisher = new HandedOffPublisher(() => {});
    const wrapped = publisher.wrap(client);
    expect(wrapped.protocolVersion).toBe(5);
    expect((wrapped as typeof client).describeSelf()).toBe(true);
    expect(publisher.wrap(client)).toBe(wrapped);
  });
});
