import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { Server } from '@nestjs/microservices';
import { ClientMqttAsync } from '../client/client-mqtt-async.js';
import type { MqttAsyncHandlerOptions } from '../options.js';
import { MqttAsyncPublisher } from '../server/publisher.js';
import {
  ASYNCAPI_APP_PUBLISHES,
  ASYNCAPI_OPERATION,
  ASYNCAPI_PUBLISHES,
  type AsyncApiOperationOptions,
  type AsyncApiPayload,
  type AsyncApiPublisher,
} from './decorators.js';
import type { AsyncApiServerInfo } from './types.js';

// Nest's own metadata keys (@nestjs/microservices and @nestjs/common constants).
const PATTERN_METADATA = 'microservices:pattern';
const PATTERN_EXTRAS_METADATA = 'microservices:pattern_extras';
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
const TRANSPORT_METADATA = 'microservices:transport';
const ROUTE_ARGS_METADATA = '__routeArguments__';
const RPC_PAYLOAD_PARAM = 3;
const MESSAGE_HANDLER = 1;

/** One `@MessagePattern` / `@EventPattern` handler as the AsyncAPI generator sees it. */
export interface ScannedHandler {
  pattern: string;
  kind: 'message' | 'event';
  options: MqttAsyncHandlerOptions;
  controller: string;
  method: string;
  /** From `@AsyncApiOperation({ payload })`, else the design type of the `@Payload()` parameter. */
  payload?: AsyncApiPayload;
  operation: AsyncApiOperationOptions;
  publishes: AsyncApiPublisher[];
}

/** Nest's own normalisation of a pattern (what `Server.addHandler()` subscribes); it does not use `this`. */
function normalizePattern(pattern: object): string {
  return (Server.prototype as unknown as { normalizePattern(p: unknown): string }).normalizePattern(pattern);
}

type Ctor = abstract new (...args: never[]) => unknown;

/**
 * Lists the MQTT handlers of every controller in the app: string patterns whose transport is unset or is
 * `transportId` (other transports' handlers are skipped).
 */
export function scanHandlers(app: INestApplicationContext, transportId?: symbol): ScannedHandler[] {
  const modules = app.get(ModulesContainer, { strict: false });
  const handlers: ScannedHandler[] = [];
  const seen = new Set<unknown>();
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const metatype = wrapper.metatype as Ctor | null;
      if (!metatype || seen.has(metatype)) continue;
      seen.add(metatype);
      handlers.push(...scanController(metatype, transportId));
    }
  }
  return handlers;
}

/** A `ClientMqttAsync` registered in the app, named after its injection token. */
export interface ScannedClient {
  name: string;
  /** Its connection options (only the fields a server entry shows are read). */
  options: AsyncApiServerInfo;
}

/** Lists the `ClientMqttAsync` instances among the providers of every module (`ClientsModule` or custom providers). */
export function scanClients(app: INestApplicationContext): ScannedClient[] {
  const modules = app.get(ModulesContainer, { strict: false });
  const clients: ScannedClient[] = [];
  const seen = new Set<unknown>();
  for (const module of modules.values()) {
    for (const [token, wrapper] of module.providers) {
      const instance: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
      if (!(instance instanceof ClientMqttAsync) || seen.has(instance)) continue;
      seen.add(instance);
      // `options` is protected: the generator reads what the client was configured with, as Nest's own tools do.
      const options = (instance as unknown as { options: AsyncApiServerInfo }).options;
      clients.push({ name: tokenName(token), options });
    }
  }
  return clients;
}

/** A publication declared outside MQTT handlers, and who declared it (`Class` or `Class_method`). */
export interface ScannedPublication {
  by: string;
  publisher: AsyncApiPublisher;
}

/**
 * Publications declared with `@MqttAsyncPublishes` on the controllers and providers of every module (class or
 * method), and with `declare()` on the `MqttAsyncPublisher` instances among the providers.
 */
export function scanPublications(app: INestApplicationContext): ScannedPublication[] {
  const modules = app.get(ModulesContainer, { strict: false });
  const found: ScannedPublication[] = [];
  const seen = new Set<unknown>();
  for (const module of modules.values()) {
    for (const wrapper of [...module.controllers.values(), ...module.providers.values()]) {
      const instance: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
      if (instance instanceof MqttAsyncPublisher && !seen.has(instance)) {
        seen.add(instance);
        for (const publisher of instance.declarations) found.push({ by: 'app', publisher });
      }
      const metatype = wrapper.metatype as Ctor | null;
      if (!metatype || typeof metatype !== 'function' || seen.has(metatype)) continue;
      seen.add(metatype);
      found.push(...declaredOn(metatype));
    }
  }
  return found;
}

function declaredOn(metatype: Ctor): ScannedPublication[] {
  const found: ScannedPublication[] = [];
  for (const publisher of (Reflect.getOwnMetadata(ASYNCAPI_APP_PUBLISHES, metatype) ?? []) as AsyncApiPublisher[]) {
    found.push({ by: metatype.name, publisher });
  }
  const prototype = metatype.prototype as Record<string, unknown> | undefined;
  if (!prototype) return found;
  for (const method of methodNames(prototype)) {
    const list = Reflect.getOwnMetadata(ASYNCAPI_APP_PUBLISHES, prototype[method] as object) ?? [];
    for (const publisher of list as AsyncApiPublisher[]) found.push({ by: `${metatype.name}_${method}`, publisher });
  }
  return found;
}

function tokenName(token: unknown): string {
  if (typeof token === 'string') return token;
  if (typeof token === 'symbol') return token.description ?? 'client';
  return (token as { name?: string }).name || 'client';
}

function scanController(metatype: Ctor, transportId?: symbol): ScannedHandler[] {
  const prototype = metatype.prototype as Record<string, unknown>;
  const found: ScannedHandler[] = [];
  for (const method of methodNames(prototype)) {
    const fn = prototype[method] as object;
    const patterns: unknown[] | undefined = Reflect.getMetadata(PATTERN_METADATA, fn);
    if (!patterns) continue;
    const transport = Reflect.getMetadata(TRANSPORT_METADATA, fn);
    if (transport !== undefined && transportId !== undefined && transport !== transportId) continue;
    const operation: AsyncApiOperationOptions = Reflect.getMetadata(ASYNCAPI_OPERATION, fn) ?? {};
    const base = {
      kind: Reflect.getMetadata(PATTERN_HANDLER_METADATA, fn) === MESSAGE_HANDLER ? 'message' : 'event',
      options: (Reflect.getMetadata(PATTERN_EXTRAS_METADATA, fn) ?? {}) as MqttAsyncHandlerOptions,
      controller: metatype.name,
      method,
      payload: operation.payload ?? payloadType(metatype, method),
      operation,
      publishes: Reflect.getMetadata(ASYNCAPI_PUBLISHES, fn) ?? [],
    } as const;
    for (const pattern of patterns) {
      // Object patterns ({ cmd: 'sum' }) are subscribed as the topic Nest normalises them to.
      if (typeof pattern === 'string') found.push({ ...base, pattern });
      else if (typeof pattern === 'object' && pattern !== null)
        found.push({ ...base, pattern: normalizePattern(pattern) });
    }
  }
  return found;
}

function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (let p = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(p, name);
      if (typeof descriptor?.value === 'function') names.add(name);
    }
  }
  return [...names];
}

/** The TypeScript design type of the handler's `@Payload()` parameter (needs `emitDecoratorMetadata`). */
function payloadType(metatype: Ctor, method: string): Ctor | undefined {
  const args: Record<string, { index: number; data?: unknown }> =
    Reflect.getMetadata(ROUTE_ARGS_METADATA, metatype, method) ?? {};
  const entry = Object.entries(args).find(([key]) => key.split(':')[0] === String(RPC_PAYLOAD_PARAM));
  if (!entry || entry[1].data !== undefined) return undefined; // @Payload('field') picks a part: type unknown
  const types: Ctor[] | undefined = Reflect.getMetadata('design:paramtypes', metatype.prototype, method);
  return types?.[entry[1].index];
}
