/**
 * Nest apps for the transport benchmark, written without TypeScript: decorators are applied as plain functions.
 * Each contender gets the same controller and module; only the transport strategy differs:
 *  - ours:     ServerMqttAsync / ClientMqttAsync (dist/nest), MQTT 5
 *  - built-in: Transport.MQTT (ServerMqtt / ClientMqtt from @nestjs/microservices over MQTT.js), its default MQTT 3.1.1
 */
import 'reflect-metadata';
import { Controller, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientMqtt, EventPattern, MessagePattern, MqttRecordBuilder, Transport } from '@nestjs/microservices';
import { NEVER } from 'rxjs';
import { distUrl } from './transport-dist.mjs';

const { ClientMqttAsync, ServerMqttAsync } = await import(distUrl('nest/index.js'));

// The built-in ClientMqtt logs its connection through Nest's static Logger: keep the bench output to figures.
Logger.overrideLogger(false);

/** Counts handled messages; `until(n)` resolves when the count reaches n. */
export class Counter {
  count = 0;
  #target = Number.POSITIVE_INFINITY;
  #resolve = () => {};

  /** @param {number} n @returns {Promise<void>} */
  until(n) {
    this.#target = n;
    return new Promise((resolve) => {
      this.#resolve = resolve;
      if (this.count >= n) resolve();
    });
  }

  hit() {
    if (++this.count === this.#target) this.#resolve();
  }

  reset() {
    this.count = 0;
    this.#target = Number.POSITIVE_INFINITY;
  }
}

function decorate(cls, method, decorator) {
  const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, method);
  const result = decorator(cls.prototype, method, descriptor);
  if (result) Object.defineProperty(cls.prototype, method, result);
}

/** A module with one controller: `@EventPattern(topic)` counting into `counter`. */
function eventModule(topic, counter) {
  class EventsController {
    handle(_data, _ctx) {
      counter.hit();
    }
  }
  decorate(EventsController, 'handle', EventPattern(topic));
  Controller()(EventsController);
  class EventsModule {}
  Module({ controllers: [EventsController] })(EventsModule);
  return EventsModule;
}

/**
 * A module with one controller: `@MessagePattern(topic)` answering `{ seq, ok: true }`; a request `{ hold: true }`
 * never gets an answer (see `holdReplySubscription`).
 */
function rpcModule(topic) {
  class RpcController {
    handle(data, _ctx) {
      if (data?.hold) return NEVER;
      return { seq: data?.seq, ok: true };
    }
  }
  decorate(RpcController, 'handle', MessagePattern(topic));
  Controller()(RpcController);
  class RpcModule {}
  Module({ controllers: [RpcController] })(RpcModule);
  return RpcModule;
}

/**
 * 'ours-notel' turns telemetry off (`telemetry: false`); every other 'ours*' contender runs with telemetry at its
 * default: on, because @opentelemetry/api is installed (no-op providers unless the process registered the SDK).
 */
const telemetryOption = (contender) => (contender === 'ours-notel' ? { telemetry: false } : {});

/** Microservice options per contender; `session` = persistent session `{ clientId }`. */
function strategy(contender, url, session) {
  if (contender.startsWith('ours')) {
    /** @type {import('../../dist/nest/index.js').MqttAsyncServerOptions} */
    const options = { url, protocolVersion: 5, reconnect: false, ...telemetryOption(contender) };
    if (session) Object.assign(options, { clientId: session.clientId, cleanStart: false, sessionExpiryInterval: 3600 });
    return { strategy: new ServerMqttAsync(options) };
  }
  const options = { url, subscribeOptions: { qos: 1 }, reconnectPeriod: 0 };
  if (session) Object.assign(options, { clientId: session.clientId, clean: false });
  return { transport: Transport.MQTT, options };
}

async function createApp(module, contender, url, session) {
  const app = await NestFactory.createMicroservice(module, { ...strategy(contender, url, session), logger: false });
  await app.init();
  return app;
}

/** An event app, not yet listening (so the caller can time `listen()`). */
export function createEventApp(contender, url, topic, counter, session) {
  return createApp(eventModule(topic, counter), contender, url, session);
}

export function createRpcApp(contender, url, topic) {
  return createApp(rpcModule(topic), contender, url);
}

/**
 * A connected ClientProxy of the contender, each at its defaults: 'ours' = ClientMqttAsync (requests at QoS 0),
 * 'ours-qos1' = ClientMqttAsync { requestQos: 1 } (the default before issue 14), 'ours-notel' = { telemetry: false },
 * 'builtin' = ClientMqtt (QoS 0).
 */
export async function createClient(contender, url) {
  const client = contender.startsWith('ours')
    ? new ClientMqttAsync({
        url,
        protocolVersion: 5,
        reconnect: false,
        ...(contender === 'ours-qos1' ? { requestQos: 1 } : {}),
        ...telemetryOption(contender),
      })
    : new ClientMqtt({ url });
  await client.connect();
  return client;
}

/**
 * The built-in ClientMqtt unsubscribes `<topic>/reply` when its last pending send settles and subscribes again on
 * the next one; when that SUBSCRIBE overtakes the UNSUBACK, replies are lost (in a trial run 1,901 of 2,000 sends
 * of the next burst were never answered). One request that is never answered keeps the reply subscription, so the
 * benchmark measures its steady state. Ours keeps one response topic per client and needs no such help.
 */
export function holdReplySubscription(client, topic) {
  return client.send(topic, { hold: true }).subscribe({ error: () => {} });
}

/** What `emit()` is given for a QoS 1 event: ours publishes at QoS 1 by default; the built-in needs a record. */
export function qos1Event(contender, data) {
  return contender.startsWith('ours') ? data : new MqttRecordBuilder(data).setQoS(1).build();
}
