import {
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  type NestInterceptor,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { IsInt } from 'class-validator';
import type { Observable } from 'rxjs';
import type { Connector, MqttDriverClient, MqttMessage, Subscription } from '../../../../lib/driver/index.js';
import { type HandlerAckMode, MqttAsyncContext, MqttAsyncExceptionFilter } from '../../../../lib/nest/index.js';
import { eventually } from '../../../support/eventually.js';

/** This file's deadline: 10_000 ms unless a call says otherwise. */
export const until = (predicate: () => boolean, what: string | (() => string), ms = 10_000) =>
  eventually(predicate, what, ms);

/**
 * The failure kinds of "every delivered message is settled" (issue 11): each makes one message fail before, in or
 * after the handler, or reach no handler at all. The handler under test uses the README's headline pattern
 * (`try { … } finally { await ctx.ack() }` in manual mode), `concurrency: 2`.
 */
export const FAILURE_KINDS = ['decode', 'validation', 'guard', 'interceptor', 'filter', 'throw', 'unrouted'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];
export const ACK_MODES: HandlerAckMode[] = ['auto', 'after', 'manual'];

/** What each handler saw, by topic prefix `settle/<mode>/<kind>`. */
export const handledIds = new Map<string, number[]>();

export function prefix(mode: HandlerAckMode, kind: FailureKind): string {
  return `settle/${mode}/${kind}`;
}

export class Job {
  @IsInt()
  n!: number;
}

class RejectBad implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return (context.switchToRpc().getData() as { bad?: boolean }).bad !== true;
  }
}

class ThrowOnBad implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if ((context.switchToRpc().getData() as { bad?: boolean }).bad === true) throw new Error('intercepted');
    return next.handle();
  }
}

/** The bad message of each kind, as `[payload, MQTT 5 user properties]`. */
export function badMessage(kind: FailureKind, protocolVersion: 4 | 5): { payload: string; marker: boolean } {
  switch (kind) {
    case 'decode':
      return { payload: '{"n": 1,', marker: false };
    case 'validation':
    case 'filter':
      return { payload: '{"n":"not a number"}', marker: false };
    case 'unrouted':
      // An own reply (MQTT 5 marker) / a Nest reply shape (3.1.1): subscribed, but no handler takes it.
      return protocolVersion === 5
        ? { payload: '{"n":-1}', marker: true }
        : { payload: '{"id":"x","response":1,"isDisposed":true}', marker: false };
    default:
      return { payload: '{"n":-1,"bad":true}', marker: false };
  }
}

/** One controller per (ack mode, failure kind), made at run time so the table drives the suite. */
export function controllerFor(mode: HandlerAckMode, kind: FailureKind): new () => unknown {
  const key = prefix(mode, kind);
  handledIds.set(key, []);
  const record = (job: { n: number }) => handledIds.get(key)!.push(job.n);
  const decorators: Array<(target: object, key: string, d: PropertyDescriptor) => void> = [
    EventPattern(`${key}/{id}`, { qos: 1, ack: mode, concurrency: 2 }),
  ];
  if (kind === 'guard') decorators.push(UseGuards(RejectBad));
  if (kind === 'interceptor') decorators.push(UseInterceptors(ThrowOnBad));
  if (kind === 'validation' || kind === 'filter') {
    decorators.push(UsePipes(new ValidationPipe({ expectedType: Job })));
  }
  if (kind === 'filter') decorators.push(UseFilters(new MqttAsyncExceptionFilter()));

  @Controller()
  class Handler {
    async handle(@Payload() job: { n: number; bad?: boolean }, @Ctx() ctx: MqttAsyncContext) {
      if (kind === 'throw' && job.bad) throw new Error('handler failed before its try block');
      try {
        record(job);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        if (mode === 'manual') await ctx.ack();
      }
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(Handler.prototype, 'handle')!;
  for (const decorate of decorators) decorate(Handler.prototype, 'handle', descriptor);
  Object.defineProperty(Handler, 'name', { value: `Settle_${mode}_${kind}` });
  return Handler;
}

export function allControllers(): Array<new () => unknown> {
  return ACK_MODES.flatMap((mode) => FAILURE_KINDS.map((kind) => controllerFor(mode, kind)));
}

/** Every ack/nack the server sent, by `<topic> <payload>`: the reason code (0 = ack). */
export const acks = new Map<string, number>();
/** Called with the key of each ack/nack as it is sent. */
let onAck: ((key: string) => void) | undefined;
export function setAckListener(listener: ((key: string) => void) | undefined): void {
  onAck = listener;
}

function recording(message: MqttMessage): MqttMessage {
  const key = `${message.topic} ${message.payload.toString()}`;
  const record = (code: number) => {
    if (acks.has(key)) return;
    acks.set(key, code);
    onAck?.(key);
  };
  return Object.create(message, {
    ack: {
      value: () => {
        record(0);
        return message.ack();
      },
    },
    nack: {
      value: (code = 0x80) => {
        record(protocolOf(message) === 4 ? 0 : code);
        return message.nack(code);
      },
    },
  }) as MqttMessage;
}

/** 3.1.1 has no reason codes: a nack is sent as a plain PUBACK. */
let protocolOf: (message: MqttMessage) => 4 | 5 = () => 5;

/** Wraps a connector so that the reason code of every ack/nack the server sends is recorded in {@link acks}. */
export function recordingConnector(inner: Connector): Connector {
  return async (url, options) => {
    const client: MqttDriverClient = await inner(url, options);
    const version = client.protocolVersion;
    protocolOf = () => version;
    const subscribe = client.subscribe.bind(client);
    const wrap = (sub: Subscription): Subscription =>
      Object.create(sub, {
        [Symbol.asyncIterator]: {
          value: () => {
            const it = sub[Symbol.asyncIterator]();
            return {
              next: async () => {
                const r = await it.next();
                return r.done ? r : { done: false, value: recording(r.value) };
              },
              return: async () => it.return?.() ?? { done: true, value: undefined },
            };
          },
        },
      }) as Subscription;
    return Object.assign(client, {
      subscribe: async (...args: Parameters<MqttDriverClient['subscribe']>) => wrap(await subscribe(...args)),
    });
  };
}

/** The reason code the transport must put on the bad message's PUBACK. */
export function expectedBadCode(mode: HandlerAckMode, kind: FailureKind, protocolVersion: 4 | 5): number {
  if (protocolVersion === 4 || mode === 'auto' || kind === 'unrouted') return 0;
  return kind === 'decode' ? 0x99 : 0x80;
}
