import { Controller } from '@nestjs/common';
import {
  type ClientProxy,
  Ctx,
  EventPattern,
  MessagePattern,
  type MqttContext,
  Payload,
  RpcException,
} from '@nestjs/microservices';
import { firstValueFrom, interval, map, take, timeout } from 'rxjs';
import { startAedes } from '../../support/aedes.js';
import { hasMosquitto, startMosquitto } from '../../support/mosquitto.js';

/** A broker of the interop matrix: how to start it and which protocol version the peers speak. */
export interface BrokerCase {
  name: string;
  available: boolean;
  protocolVersion: 4 | 5;
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

export const brokerCases: BrokerCase[] = [
  { name: 'mosquitto 3.1.1', available: hasMosquitto, protocolVersion: 4, start: () => startMosquitto() },
  { name: 'aedes 3.1.1', available: true, protocolVersion: 4, start: () => startAedes() },
  { name: 'mosquitto 5 (nestWireFormat)', available: hasMosquitto, protocolVersion: 5, start: () => startMosquitto() },
];

/** Events a controller received, with a way to wait for them. */
export class Inbox {
  readonly items: Array<{ topic: string; data: unknown }> = [];
  private waiters: Array<() => void> = [];

  push(topic: string, data: unknown): void {
    this.items.push({ topic, data });
    for (const wake of this.waiters.splice(0)) wake();
  }

  async waitFor(count: number): Promise<Array<{ topic: string; data: unknown }>> {
    while (this.items.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.items;
  }

  reset(): void {
    this.items.length = 0;
  }
}

export const inbox = new Inbox();

/**
 * Handlers in plain Nest (no nest-mqtt-async decorators), so the same controller runs on Nest's built-in
 * `ServerMqtt` and on `ServerMqttAsync`. Topic-level params are read from the context's topic.
 */
@Controller()
export class InteropController {
  @MessagePattern('interop/sum')
  sum(@Payload() numbers: number[]) {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('interop/echo')
  echo(@Payload() data: unknown) {
    return { echoed: data };
  }

  @MessagePattern('interop/count')
  count(@Payload() n: number) {
    return interval(2).pipe(
      take(n),
      map((i) => i + 1),
    );
  }

  @MessagePattern('interop/fail')
  fail() {
    throw new Error('boom');
  }

  @MessagePattern('interop/rpc-fail')
  rpcFail() {
    throw new RpcException({ code: 'E_INTEROP', message: 'refused' });
  }

  @EventPattern<string>('interop/events/+')
  event(@Payload() data: unknown, @Ctx() ctx: MqttContext) {
    inbox.push(ctx.getTopic(), data);
  }
}

/**
 * Nest's `ServerMqtt.listen()` resolves on CONNACK, before its SUBSCRIBEs are acknowledged: probe `interop/sum`
 * until it answers, so the first real request of a test is not published into the void.
 */
export async function waitUntilServing(client: ClientProxy, attempts = 50): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const answered = await firstValueFrom(client.send('interop/sum', [1]).pipe(timeout(200))).then(
      () => true,
      () => false,
    );
    if (answered) return;
  }
  throw new Error('the server never answered interop/sum');
}
