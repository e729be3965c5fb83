/**
 * Retry options (issue 17): validation at startup, delays, the non-retryable rule, the slot a retrying message
 * gives back; and the in-memory broker's view of retries under jest fake timers.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { BadRequestException, Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import {
  MqttAsyncConfigError,
  MqttAsyncNonRetryableError,
  type MqttAsyncRetryOptions,
  mqttOptions,
  retryableByDefault,
} from '../../../lib/nest/index.js';
import { checkRetry, retryDelay } from '../../../lib/nest/routing/retry-options.js';
import { MqttAsyncRouter } from '../../../lib/nest/routing/router.js';
import { MessageSlot } from '../../../lib/nest/server/retry.js';
import { Semaphore } from '../../../lib/nest/server/semaphore.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';

describe('retry options are checked at startup (MqttAsyncConfigError)', () => {
  const bad: Array<[string, unknown]> = [
    ['attempts 0', { attempts: 0 }],
    ['attempts 1.5', { attempts: 1.5 }],
    ['attempts 101', { attempts: 101 }],
    ['a negative delay', { attempts: 3, delay: -1 }],
    ['an infinite delay', { attempts: 3, delay: Number.POSITIVE_INFINITY }],
    ['maxDelay below delay', { attempts: 3, delay: 500, maxDelay: 100 }],
    ['maxDelay above an hour', { attempts: 3, maxDelay: 3_600_001 }],
    ['an unknown backoff', { attempts: 3, backoff: 'linear' }],
    ['a non-boolean jitter', { attempts: 3, jitter: 'yes' }],
    ['a non-function retryable', { attempts: 3, retryable: true }],
    ['an unknown key', { attempts: 3, delays: 100 }],
    ['a number', 3],
  ];

  it.each(bad)('refuses %s on a handler, naming it', (_what, retry) => {
    const router = new MqttAsyncRouter();
    expect(() =>
      router.add('jobs/{id}', () => undefined, true, { retry } as never, "@EventPattern('jobs/{id}')"),
    ).toThrow(MqttAsyncConfigError);
    expect(() =>
      router.add('jobs/{id}', () => undefined, true, { retry } as never, "@EventPattern('jobs/{id}')"),
    ).toThrow(/@EventPattern\('jobs\/\{id\}'\): retry/);
  });

  it.each(bad)('refuses %s as the server default', (_what, retry) => {
    expect(() => new MqttAsyncRouter({ retry: retry as MqttAsyncRetryOptions })).toThrow(MqttAsyncConfigError);
  });

  it('refuses retry on a @MessagePattern: the caller owns retries of its request', () => {
    const router = new MqttAsyncRouter();
    expect(() =>
      router.add('calc', () => undefined, false, { retry: { attempts: 3 } }, "@MessagePattern('calc')"),
    ).toThrow(/@EventPattern handlers only/);
  });

  it('applies the server default to event handlers only; retry: false and attempts: 1 opt out', () => {
    const router = new MqttAsyncRouter({ retry: { attempts: 4 } });
    const event = router.add('a', () => undefined, true, undefined, 'a');
    const rpc = router.add('b', () => undefined, false, undefined, 'b');
    const off = router.add('c', () => undefined, true, { retry: false }, 'c');
    const one = router.add('d', () => undefined, true, { retry: { attempts: 1 } }, 'd');
    expect(event.options.retry).toEqual({
      attempts: 4,
      delay: 1000,
      backoff: 'exponential',
      maxDelay: 30_000,
      jitter: false,
    });
    expect([rpc.options.retry, off.options.retry, one.options.retry]).toEqual([undefined, undefined, undefined]);
  });

  it('fails listen() of an app whose handler has a bad retry option', async () => {
    @Controller()
    class Bad {
      @EventPattern('jobs/{id}', mqttOptions({ retry: { attempts: 0 } }))
      handle(_data: unknown) {}
    }
    await using broker = new MqttAsyncTestBroker();
    const moduleRef = await Test.createTestingModule({ controllers: [Bad] }).compile();
    const app = moduleRef.createNestMicroservice({ strategy: broker.createServer(), logger: false });
    await expect(app.listen()).rejects.toThrow(MqttAsyncConfigError);
    await app.close();
  });
});

describe('retry delays', () => {
  const policy = (o: MqttAsyncRetryOptions) => checkRetry(o, 'test')!;

  it('exponential: delay, 2x, 4x ... capped at maxDelay; fixed: delay each time', () => {
    const exp = policy({ attempts: 10, delay: 100, maxDelay: 500 });
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(exp, n))).toEqual([100, 200, 400, 500, 500]);
    expect(retryDelay(exp, 99)).toBe(500);
    const fixed = policy({ attempts: 10, delay: 100, backoff: 'fixed' });
    expect([1, 2, 3].map((n) => retryDelay(fixed, n))).toEqual([100, 100, 100]);
  });

  it('jitter waits between half and all of the delay', () => {
    const p = policy({ attempts: 3, delay: 1000, jitter: true });
    expect(retryDelay(p, 1, () => 0)).toBe(500);
    expect(retryDelay(p, 1, () => 1)).toBe(1000);
  });
});

describe('retryableByDefault: errors that say the input is wrong are not retried', () => {
  it.each<[string, unknown, boolean]>([
    ['MqttAsyncNonRetryableError', new MqttAsyncNonRetryableError('bad'), false],
    ['what Nest makes of it (its getError())', new MqttAsyncNonRetryableError('bad').getError(), false],
    ['its object error', new MqttAsyncNonRetryableError({ code: 'E1' }).getError(), false],
    ['a BadRequestException', new BadRequestException('x'), false],
    ['MqttAsyncExceptionFilter’s statusCode 400', { status: 'error', statusCode: 400, message: ['n must be'] }, false],
    ['RpcException(new BadRequestException().getResponse())', new BadRequestException('x').getResponse(), false],
    ['class-validator errors', [{ property: 'n', constraints: { isInt: 'n must be an integer' } }], false],
    ['a guard refusal (as Nest’s filter passes it on)', { status: 'error', message: 'Forbidden resource' }, false],
    ['Nest’s unknown-error object', { status: 'error', message: 'Internal server error' }, true],
    ['an RpcException message', { status: 'error', message: 'db down' }, true],
    ['a 503', { statusCode: 503 }, true],
    ['a plain Error', new Error('boom'), true],
    ['a string', 'boom', true],
  ])('%s → retryable: %p', (_what, err, retryable) => {
    expect(retryableByDefault(err)).toBe(retryable);
  });
});

describe('MessageSlot', () => {
  it('gives the slot back while its only run waits, takes one again to retry, releases once', async () => {
    const slots = new Semaphore(1);
    expect(slots.tryAcquire()).toBe(true);
    const slot = new MessageSlot(slots);
    slot.sleep();
    expect(slots.tryAcquire()).toBe(true); // another message runs during the delay
    let woke = false;
    const waking = slot.wake()!.then(() => {
      woke = true;
    });
    await Promise.resolve();
    expect(woke).toBe(false); // waits for the slot like a new message
    slots.release();
    await waking;
    slot.release();
    slot.release();
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
  });

  it('with several runs, gives it back only when none is working', () => {
    const slots = new Semaphore(1);
    slots.tryAcquire();
    const slot = new MessageSlot(slots);
    slot.runs = 2;
    slot.sleep();
    expect(slots.tryAcquire()).toBe(false); // the other run still works
    slot.runEnded();
    expect(slots.tryAcquire()).toBe(true);
  });
});

describe('the in-memory broker shows retries under jest fake timers', () => {
  let calls = 0;

  @Controller()
  class Jobs {
    @EventPattern('jobs/{id}', mqttOptions({ ack: 'after' }))
    handle(_data: unknown) {
      calls++;
      throw new RpcException('still failing');
    }

    @EventPattern('once/{id}', mqttOptions({ ack: 'after', retry: false }))
    once(_data: unknown) {
      calls++;
      throw new RpcException('no retry here');
    }

    @MessagePattern('calc')
    calc() {
      throw new RpcException('rpc errors are answered at once');
    }
  }

  it('server default retry: 4 attempts, 1 s / 2 s / 4 s, then published() shows the dead letter', async () => {
    await using broker = new MqttAsyncTestBroker();
    const moduleRef = await Test.createTestingModule({ controllers: [Jobs] }).compile();
    const app = moduleRef.createNestMicroservice({
      strategy: broker.createServer({ deadLetterTopic: 'dead', retry: { attempts: 4, delay: 1000 } }),
      logger: false,
    });
    await app.listen();
    jest.useFakeTimers({ doNotFake: ['nextTick'] });
    try {
      calls = 0;
      const published = broker.publish('jobs/1', { n: 1 });
      await jest.advanceTimersByTimeAsync(0);
      expect(calls).toBe(1);
      expect(broker.unacked('jobs/1')).toHaveLength(1); // held unacknowledged while it retries
      await jest.advanceTimersByTimeAsync(999);
      expect(calls).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(6000);
      await published;
      expect(calls).toBe(4);
      expect(broker.unacked()).toEqual([]);
      const [letter] = broker.published('dead');
      expect(letter!.payload).toEqual({ n: 1 });
      expect(letter!.userProperties).toMatchObject({
        'nest-mqtt-async:attempts': '4',
        'nest-mqtt-async:error-message': 'still failing',
        'nest-mqtt-async:original-topic': 'jobs/1',
      });
      calls = 0;
      await broker.publish('once/1', {});
      expect(calls).toBe(1);
      await expect(broker.request('calc', {})).rejects.toThrow();
    } finally {
      jest.useRealTimers();
      await app.close();
    }
  });
});
