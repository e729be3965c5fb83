import type { QoS } from '../../driver/index.js';

/** A JSON Schema object, used as is. */
export type JsonSchema = Record<string, unknown>;

/** A payload type for the AsyncAPI document: a class (class-validator DTO), `Number`/`String`/`Boolean`/`Array`/`Buffer`, or a JSON Schema. */
export type AsyncApiPayload = (abstract new (...args: never[]) => unknown) | JsonSchema;

/** Overrides for the operation generated from a handler. */
export interface AsyncApiOperationOptions {
  /** One line shown as the operation title. */
  summary?: string;
  description?: string;
  /** Payload type when the handler's `@Payload()` parameter type says too little (e.g. `unknown`). */
  payload?: AsyncApiPayload;
  /** Type of the RPC reply of a `@MessagePattern` handler (a return type is not visible at runtime). */
  reply?: AsyncApiPayload;
}

/** A topic a handler (or the app) publishes to, e.g. through `ClientMqttAsync.emit()`. */
export interface AsyncApiPublishesOptions {
  payload?: AsyncApiPayload;
  qos?: QoS;
  retain?: boolean;
  summary?: string;
  description?: string;
}

/** A declared publisher: the topic plus what goes there. */
export interface AsyncApiPublisher extends AsyncApiPublishesOptions {
  topic: string;
}

export const ASYNCAPI_OPERATION = 'nest-mqtt-async:asyncapi:operation';
export const ASYNCAPI_PUBLISHES = 'nest-mqtt-async:asyncapi:publishes';
export const ASYNCAPI_APP_PUBLISHES = 'nest-mqtt-async:asyncapi:app-publishes';

/** Documents a `@MessagePattern` / `@EventPattern` handler in the generated AsyncAPI document. */
export function AsyncApiOperation(options: AsyncApiOperationOptions): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(ASYNCAPI_OPERATION, options, descriptor.value as object);
    return descriptor;
  };
}

/**
 * Declares that a handler publishes to `topic` (a `send` operation in the AsyncAPI document). Repeatable.
 * `topic` may use `{param}` levels, like handler patterns.
 */
export function AsyncApiPublishes(topic: string, options: AsyncApiPublishesOptions = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const target = descriptor.value as object;
    const list: AsyncApiPublisher[] = Reflect.getMetadata(ASYNCAPI_PUBLISHES, target) ?? [];
    Reflect.defineMetadata(ASYNCAPI_PUBLISHES, [...list, { ...options, topic }], target);
    return descriptor;
  };
}

/**
 * Declares that a class (an HTTP controller, a service) or one of its methods publishes to `topic`, e.g. through
 * `MqttAsyncPublisher`: a `send` operation in the AsyncAPI document, for any provider or controller of the app
 * (`@AsyncApiPublishes` covers MQTT handler methods). Repeatable; `topic` may use `{param}` levels.
 */
export function MqttAsyncPublishes(
  topic: string,
  options: AsyncApiPublishesOptions = {},
): ClassDecorator & MethodDecorator {
  return ((target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value ?? target) as object;
    const list: AsyncApiPublisher[] = Reflect.getOwnMetadata(ASYNCAPI_APP_PUBLISHES, holder) ?? [];
    Reflect.defineMetadata(ASYNCAPI_APP_PUBLISHES, [...list, { ...options, topic }], holder);
    return descriptor;
  }) as ClassDecorator & MethodDecorator;
}
