import { randomUUID } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { MqttDriverClient, MqttMessage, Subscription } from '../../driver/index.js';
import { MqttAsyncError } from '../errors.js';
import { type HealthTarget, listeningServers } from './listening.js';

/** Default bound of one check in ms. */
export const DEFAULT_HEALTH_TIMEOUT = 1_000;

/** Options of {@link MqttAsyncHealthIndicator.isHealthy}. */
export interface MqttAsyncHealthOptions {
  /** Milliseconds the check may take before it reports `down` (default 1_000). */
  timeout?: number;
  /** The server to check (default: the `ServerMqttAsync` listening in this process; the last one to start). */
  server?: HealthTarget;
  /** A `ClientMqttAsync` to check instead: the instance, or its injection token (e.g. the `ClientsModule` name). */
  client?: HealthTarget | string | symbol;
  /**
   * `'ping'` (default): a PINGREQ/PINGRESP round trip — the link and the broker answer.
   * `'topic'`: a request published through the broker to a responder on the same connection, answered there — the
   * broker routes the service's messages both ways and the connection delivers them (MQTT 5 request/response;
   * on 3.1.1 the reply goes to `<topic>/reply`).
   */
  roundTrip?: 'ping' | 'topic';
}

/** What `isHealthy()` resolves with: terminus' `HealthIndicatorResult` shape. */
export type MqttAsyncHealthResult<Key extends string = string> = {
  [K in Key]: { status: 'up' | 'down'; [data: string]: unknown };
};

interface TerminusSession {
  up(data: Record<string, unknown>): unknown;
  down(data: Record<string, unknown>): unknown;
}
interface TerminusModule {
  HealthIndicatorService: new () => { check(key: string): TerminusSession };
}

const HEALTH_TOPIC_PREFIX = 'nest-mqtt-async/health';

/**
 * A `@nestjs/terminus` health indicator for nest-mqtt-async transports (terminus is an optional peer, loaded on
 * the first check: importing this package never loads it). Provide it next to `TerminusModule`:
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.mqtt.isHealthy('mqtt', { timeout: 1000 })]); }
 * ```
 * Up with `{ rttMs, roundTrip }`; down with `{ message, state }` when the link is down, the round trip failed or
 * took longer than `timeout`.
 */
@Injectable()
export class MqttAsyncHealthIndicator {
  private terminus: Promise<TerminusModule> | undefined;
  private readonly responders = new WeakMap<MqttDriverClient, Promise<string>>();

  constructor(@Optional() private readonly moduleRef?: ModuleRef) {}

  /** Checks the server (default) or `options.client`; never throws for an outage, reports `down` instead. */
  async isHealthy<const Key extends string>(
    key: Key,
    options: MqttAsyncHealthOptions = {},
  ): Promise<MqttAsyncHealthResult<Key>> {
    const session = await this.session(key);
    const timeout = options.timeout ?? DEFAULT_HEALTH_TIMEOUT;
    const roundTrip = options.roundTrip ?? 'ping';
    let client: MqttDriverClient;
    try {
      client = this.target(options).unwrap<MqttDriverClient>();
    } catch (err) {
      return session.down({ message: messageOf(err), state: 'not-started' }) as MqttAsyncHealthResult<Key>;
    }
    try {
      const rttMs = roundTrip === 'topic' ? await this.roundTrip(client, timeout) : await client.ping({ timeout });
      return session.up({ rttMs: Math.round(rttMs * 1000) / 1000, roundTrip }) as MqttAsyncHealthResult<Key>;
    } catch (err) {
      return session.down({ message: messageOf(err), state: client.status }) as MqttAsyncHealthResult<Key>;
    }
  }

  private async session(key: string): Promise<TerminusSession> {
    this.terminus ??= import('@nestjs/terminus').catch((err: unknown) => {
      this.terminus = undefined;
      throw new MqttAsyncError(
        'MqttAsyncHealthIndicator needs @nestjs/terminus: npm install @nestjs/terminus (an optional peer)',
        { cause: err },
      );
    }) as Promise<TerminusModule>;
    return new (await this.terminus).HealthIndicatorService().check(key);
  }

  private target(options: MqttAsyncHealthOptions): HealthTarget {
    if (options.server) return options.server;
    const client = options.client;
    if (client !== undefined) {
      if (typeof client !== 'string' && typeof client !== 'symbol') return client;
      if (!this.moduleRef) throw new MqttAsyncError('No ModuleRef to resolve the client token: pass the instance');
      return this.moduleRef.get<HealthTarget>(client, { strict: false });
    }
    const servers = [...listeningServers];
    const last = servers[servers.length - 1];
    if (!last) throw new MqttAsyncError('No ServerMqttAsync is listening in this process (pass options.server)');
    return last;
  }

  /** Publishes a request to this connection's own responder and waits for its reply; resolves with the ms taken. */
  private async roundTrip(client: MqttDriverClient, timeout: number): Promise<number> {
    const started = performance.now();
    const deadline = new Promise<never>((_, reject) => {
      const timer = setTimeout(
        () => reject(new MqttAsyncError(`No health reply through the broker within ${timeout} ms`)),
        timeout,
      );
      timer.unref?.();
    });
    deadline.catch(() => undefined);
    const topic = await Promise.race([this.responder(client), deadline]);
    const v4 = client.protocolVersion === 4;
    await Promise.race([
      client.request(topic, 'ping', { timeout, qos: 0, ...(v4 ? { responseTopic: `${topic}/reply` } : {}) }),
      deadline,
    ]);
    return performance.now() - started;
  }

  /** One responder subscription per driver client, made on the first topic check. */
  private responder(client: MqttDriverClient): Promise<string> {
    let topic = this.responders.get(client);
    if (!topic) {
      const name = `${HEALTH_TOPIC_PREFIX}/${randomUUID()}`;
      topic = client.subscribe(name, { qos: 0 }).then((sub) => {
        void answer(client, sub);
        return name;
      });
      topic.catch(() => this.responders.delete(client));
      this.responders.set(client, topic);
    }
    return topic;
  }
}

/** Answers every health request of `sub` until it ends (the client closed). */
async function answer(client: MqttDriverClient, sub: Subscription): Promise<void> {
  for await (const message of sub) reply(client, message).catch(() => undefined);
}

function reply(client: MqttDriverClient, message: MqttMessage): Promise<unknown> {
  if (client.protocolVersion === 4) return client.publish(`${message.topic}/reply`, 'pong');
  const { responseTopic, correlationData } = message.properties;
  if (!responseTopic) return Promise.resolve();
  return client.publish(responseTopic, 'pong', { properties: correlationData ? { correlationData } : {} });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
