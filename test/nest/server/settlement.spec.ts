/**
 * The server's settlement rules as units (lib/nest/server): how a message is settled once its handlers are done
 * (settle.ts), the ack watch of a manual subscription (ack-watch.ts) and the concurrency slots (semaphore.ts).
 * The scenario specs show them end to end; these pin each rule so a mutation run can tell them apart
 * (docs/mutation.md).
 */
import { describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import type { MqttMessage } from '../../../lib/driver/index.js';
import type { HandlerAckMode, MqttAsyncServerOptions } from '../../../lib/nest/options.js';
import type { ResolvedHandlerOptions } from '../../../lib/nest/routing/router.js';
import type { AckTicket } from '../../../lib/nest/server/ack-sequencer.js';
import { ackWatch, DEFAULT_ACK_TIMEOUT } from '../../../lib/nest/server/ack-watch.js';
import { Semaphore } from '../../../lib/nest/server/semaphore.js';
import { type DispatchOutcome, settleAfterHandlers } from '../../../lib/nest/server/settle.js';

/** A ticket recording what it was settled with: 'ack', a nack's reason code, or undefined (untouched). */
function ticket(settled = false) {
  const t = {
    result: undefined as 'ack' | 'nack without a code' | number | undefined,
    settled,
    sent: Promise.resolve(),
    async ack() {
      t.result = 'ack';
    },
    async nack(code?: number) {
      t.result = code ?? 'nack without a code';
    },
  };
  return t satisfies AckTicket;
}

const outcome = (o: Partial<DispatchOutcome> = {}): DispatchOutcome => ({
  errors: [],
  invoked: true,
  undecodable: false,
  slot: undefined,
  ...o,
});

const settle = (mode: HandlerAckMode, o: Partial<DispatchOutcome>, alreadySettled = false) => {
  const t = ticket(alreadySettled);
  settleAfterHandlers(mode, t, outcome(o));
  return t.result;
};

describe('settleAfterHandlers', () => {
  it.each([
    ['after', {}, 'ack'],
    ['after', { errors: [new Error('x')] }, 0x80],
    ['after', { errors: [new Error('x')], undecodable: true, invoked: false }, 0x99],
    ['after', { invoked: false }, 'ack'], // no handler for the topic
    ['manual', {}, undefined], // the handler settles it (or the ack watch reports it)
    ['manual', { invoked: false }, 'ack'], // no handler: nobody else will
    ['manual', { errors: [new Error('x')] }, 0x80],
    ['manual', { errors: [new Error('x')], undecodable: true, invoked: false }, 0x99],
    ['auto', { errors: [new Error('x')] }, undefined], // acknowledged on receipt
    ['after', { errors: [new Error('x')], abandoned: true }, undefined], // close() during a retry delay
  ] as [HandlerAckMode, Partial<DispatchOutcome>, 'ack' | number | undefined][])(
    '%s with %p settles with %p',
    (mode, o, expected) => {
      expect(settle(mode, o)).toBe(expected);
    },
  );

  it('never settles a message the handler already settled', () => {
    expect(settle('after', {}, true)).toBeUndefined();
    expect(settle('manual', { errors: [new Error('x')] }, true)).toBeUndefined();
  });
});

describe('ackWatch', () => {
  const warnings: string[] = [];
  const logger: LoggerService = { log() {}, error() {}, warn: (m: string) => warnings.push(m) };
  const handler = (o: Partial<ResolvedHandlerOptions> = {}): ResolvedHandlerOptions => ({
    qos: 1,
    concurrency: 1,
    ack: 'manual',
    ...o,
  });
  const message = { topic: 'jobs/1' } as MqttMessage;
  /** Server options: only the ack-watch ones matter here. */
  const server = (o: Partial<MqttAsyncServerOptions> = {}): MqttAsyncServerOptions => ({ url: 'mqtt://unused', ...o });

  it('watches manual subscriptions only', () => {
    expect(ackWatch(handler({ ack: 'after' }), server({}), logger)).toBeUndefined();
    expect(ackWatch(handler({ ack: 'auto' }), server({}), logger)).toBeUndefined();
  });

  it('timeout and action: the handler option, else the server option, else 30 s and warn; 0 turns it off', () => {
    expect(ackWatch(handler(), server({}), logger)).toMatchObject({ timeout: DEFAULT_ACK_TIMEOUT, action: 'warn' });
    expect(ackWatch(handler(), server({ ackTimeout: 50, onAckTimeout: 'nack' }), logger)).toMatchObject({
      timeout: 50,
      action: 'nack',
    });
    expect(
      ackWatch(
        handler({ ackTimeout: 7, onAckTimeout: 'warn' }),
        server({ ackTimeout: 50, onAckTimeout: 'nack' }),
        logger,
      ),
    ).toMatchObject({ timeout: 7, action: 'warn' });
    expect(ackWatch(handler({ ackTimeout: 0 }), server({ ackTimeout: 50 }), logger)).toBeUndefined();
    expect(ackWatch(handler(), server({ ackTimeout: 0 }), logger)).toBeUndefined();
    expect(ackWatch(handler({ ackTimeout: 1 }), server({}), logger)?.timeout).toBe(1);
  });

  it('reports the topic, the age, the acks waiting behind and what happens next', () => {
    warnings.length = 0;
    ackWatch(handler({ ackTimeout: 10 }), server({}), logger)?.report(message, 12, 3);
    ackWatch(handler({ ackTimeout: 10, onAckTimeout: 'nack' }), server({}), logger)?.report(message, 11, 0);
    expect(warnings).toEqual([
      expect.stringMatching(/'jobs\/1' is not settled after 12 ms \(ackTimeout 10 ms\); 3 ack.*still waiting/),
      expect.stringMatching(/'jobs\/1' is not settled after 11 ms.*0 ack.*nacked it/),
    ]);
  });
});

describe('Semaphore', () => {
  it('tryAcquire takes a free slot or says no; release frees one', () => {
    const s = new Semaphore(1);
    expect(s.tryAcquire()).toBe(true);
    expect(s.tryAcquire()).toBe(false);
    s.release();
    expect(s.tryAcquire()).toBe(true);
  });

  it('a released slot goes to the longest waiter first, not back to the pool', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const order: string[] = [];
    const a = s.acquire().then(() => order.push('a'));
    const b = s.acquire().then(() => order.push('b'));
    s.release();
    await a;
    expect(order).toEqual(['a']);
    expect(s.tryAcquire()).toBe(false); // a holds it, b still waits
    s.release();
    await b;
    expect(order).toEqual(['a', 'b']);
    s.release();
    expect(s.tryAcquire()).toBe(true);
    expect(s.tryAcquire()).toBe(false);
  });

  it('acquire() with slots free resolves at once and counts them down', async () => {
    const s = new Semaphore(2);
    await s.acquire();
    await s.acquire();
    expect(s.tryAcquire()).toBe(false);
  });
});
