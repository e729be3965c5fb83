import type { MqttAsyncHandlerDefaults } from '../options.js';
import { parseRoutePattern } from '../routing/pattern.js';
import { type RetryPolicy, resolveRetry } from '../routing/retry-options.js';
import { type ResolvedHandlerOptions, resolveHandlerOptions, sharedFilter } from '../routing/router.js';
import type { AsyncApiPayload, AsyncApiPublisher, JsonSchema } from './decorators.js';
import type { ScannedHandler } from './scan.js';
import type { SchemaCollector } from './schemas.js';
import type { AsyncApiChannel, AsyncApiDocument, AsyncApiMessage, AsyncApiOperationObject, Ref } from './types.js';

const BINDING_VERSION = '0.2.0';

/** Builds channels, operations and messages into `doc`, one handler or publisher at a time. */
export class DocumentBuilder {
  constructor(
    private readonly doc: AsyncApiDocument,
    private readonly schemas: SchemaCollector,
    private readonly parameterDescriptions: Record<string, string>,
    /** The server-wide handler defaults (`qos`, `ack`, `concurrency`, `group`) of the app's ServerMqttAsync. */
    private readonly defaults: MqttAsyncHandlerDefaults = {},
  ) {}

  addHandler(handler: ScannedHandler): void {
    const where = `${handler.controller}.${handler.method}`;
    const route = parseRoutePattern(handler.pattern, where);
    // A `$share/<group>/` or `$queue/` prefix is how the handler subscribes, not where messages are published.
    const address = toAddress(handler.pattern.split('/').slice(-route.levels.length).join('/'));
    const channelId = this.channel(address);
    const isRpc = handler.kind === 'message';
    const messageRef = this.message(channelId, `${handler.method}${isRpc ? 'Request' : 'Message'}`, {
      title: isRpc
        ? `Request of ${handler.controller}.${handler.method}`
        : `Event for ${handler.controller}.${handler.method}`,
      payload: handler.payload,
      rpcRequest: isRpc,
    });
    const o = resolveHandlerOptions(handler.options, where, this.defaults);
    const retry = resolveRetry(handler.options.retry, this.defaults.retry, !isRpc, where);
    if (retry) o.retry = retry;
    if (route.shared !== undefined) o.shared = route.shared;
    const filter = o.shared === undefined ? route.filter : sharedFilter(o.shared, route.filter);
    const operation: AsyncApiOperationObject = {
      action: 'receive',
      channel: { $ref: `#/channels/${channelId}` },
      title: `${handler.controller}.${handler.method}`,
      ...(handler.operation.summary ? { summary: handler.operation.summary } : {}),
      description: describeHandler(handler, filter, o),
      messages: [messageRef],
      bindings: { mqtt: { qos: o.qos ?? 1, bindingVersion: BINDING_VERSION } },
      'x-mqtt-subscription': filter,
      'x-mqtt-ack': o.ack ?? 'auto',
      'x-mqtt-concurrency': o.concurrency ?? 1,
    };
    if (o.shared) operation['x-mqtt-shared-group'] = o.shared;
    if (retry) operation['x-mqtt-retry'] = retryExtension(retry);
    const id = this.uniqueOperationId(`${handler.controller}_${handler.method}`);
    if (isRpc) this.addReply(operation, id, channelId, handler.operation.reply);
    this.doc.operations[id] = operation;
    for (const publisher of handler.publishes) this.addPublisher(publisher, `${handler.controller}_${handler.method}`);
  }

  addPublisher(publisher: AsyncApiPublisher, by = 'app'): void {
    const channelId = this.channel(toAddress(publisher.topic));
    const messageRef = this.message(channelId, `${by}Publish`, {
      title: `Published by ${by.replace('_', '.')}`,
      payload: publisher.payload,
    });
    const mqtt: Record<string, unknown> = { qos: publisher.qos ?? 1, bindingVersion: BINDING_VERSION };
    if (publisher.retain !== undefined) mqtt.retain = publisher.retain;
    this.doc.operations[this.uniqueOperationId(`${by}_publish_${channelId}`)] = {
      action: 'send',
      channel: { $ref: `#/channels/${channelId}` },
      ...(publisher.summary ? { summary: publisher.summary } : {}),
      ...(publisher.description ? { description: publisher.description } : {}),
      messages: [messageRef],
      bindings: { mqtt },
    };
  }

  /** The reply of an RPC handler: a `reply` on the receive operation plus the matching `send` operation. */
  private addReply(operation: AsyncApiOperationObject, id: string, channelId: string, type?: AsyncApiPayload): void {
    const replyChannelId = `${channelId}_reply`;
    this.doc.channels[replyChannelId] ??= {
      address: null,
      title: `Replies of ${this.doc.channels[channelId]?.address}`,
      description:
        "Dynamic: the request's MQTT 5 Response Topic, with its Correlation Data echoed. On MQTT 3.1.1 (Nest wire format) `<topic>/reply`.",
      messages: {},
    };
    const replyRef = this.message(replyChannelId, `${id}Reply`, {
      title: `Reply of ${id}`,
      payload: type,
      rpcReply: true,
    });
    operation.reply = {
      address: { location: '$message.header#/responseTopic', description: 'MQTT 5 Response Topic of the request' },
      channel: { $ref: `#/channels/${replyChannelId}` },
      messages: [replyRef],
    };
    this.doc.operations[this.uniqueOperationId(`${id}_reply`)] = {
      action: 'send',
      channel: { $ref: `#/channels/${replyChannelId}` },
      summary: `Reply sent by ${id.replace('_', '.')}`,
      messages: [replyRef],
      bindings: { mqtt: { qos: 1, bindingVersion: BINDING_VERSION } },
    };
  }

  /** The id of the channel for `address`, created with its parameters on first use. */
  private channel(address: string): string {
    const existing = Object.entries(this.doc.channels).find(([, c]) => c.address === address);
    if (existing) return existing[0];
    let id = channelId(address);
    for (let n = 2; this.doc.channels[id]; n++) id = `${channelId(address)}_${n}`;
    const channel: AsyncApiChannel = { address, messages: {} };
    const names = [...address.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
    if (names.length > 0) {
      channel.parameters = Object.fromEntries(
        names.map((name) => [name, { description: this.parameterDescriptions[name] ?? `Topic level '${name}'` }]),
      );
    }
    this.doc.channels[id] = channel;
    return id;
  }

  private message(
    channelId: string,
    name: string,
    spec: { title: string; payload: AsyncApiPayload | undefined; rpcRequest?: boolean; rpcReply?: boolean },
  ): Ref {
    const channel = this.doc.channels[channelId] as AsyncApiChannel;
    let key = name;
    for (let n = 2; channel.messages[key]; n++) key = `${name}${n}`;
    const payload = this.schemas.schemaFor(spec.payload);
    const contentType = contentTypeOf(payload);
    const mqtt: Record<string, unknown> = { contentType, bindingVersion: BINDING_VERSION };
    if (spec.rpcRequest) {
      mqtt.responseTopic = { type: 'string', description: 'Where the reply goes (MQTT 5 Response Topic)' };
    }
    if (spec.rpcRequest || spec.rpcReply) {
      mqtt.correlationData = { type: 'string', format: 'binary', description: 'Echoed on the reply' };
    }
    const message: AsyncApiMessage = { name: key, title: spec.title, contentType, payload, bindings: { mqtt } };
    channel.messages[key] = message;
    return { $ref: `#/channels/${channelId}/messages/${key}` };
  }

  private uniqueOperationId(base: string): string {
    const clean = base.replace(/[^\w-]/g, '_');
    let id = clean;
    for (let n = 2; this.doc.operations[id]; n++) id = `${clean}_${n}`;
    return id;
  }
}

/** A handler pattern as an AsyncAPI address: `:name` levels become `{name}`. */
export function toAddress(pattern: string): string {
  return pattern
    .split('/')
    .map((level) => (level.startsWith(':') ? `{${level.slice(1)}}` : level))
    .join('/');
}

function channelId(address: string): string {
  return address
    .split('/')
    .map((level) => (level === '+' ? 'any' : level === '#' ? 'all' : level.replace(/[{}]/g, '')))
    .join('_')
    .replace(/[^\w-]/g, '_');
}

function contentTypeOf(payload: JsonSchema): string {
  if (payload.type === 'string') return payload.format === 'binary' ? 'application/octet-stream' : 'text/plain';
  return 'application/json';
}

function describeHandler(handler: ScannedHandler, filter: string, o: ResolvedHandlerOptions): string {
  const lines = [handler.operation.description ?? ''];
  lines.push(
    handler.kind === 'message'
      ? `RPC (@MessagePattern): the return value is published to the request's Response Topic.`
      : `Event (@EventPattern): every matching handler runs once per message.`,
  );
  lines.push(`Subscription: \`${filter}\` at QoS ${o.qos ?? 1}.`);
  if (o.shared) lines.push(`Shared subscription group \`${o.shared}\`: each message goes to one member of the group.`);
  lines.push(`Acknowledgement: ${o.ack ?? 'auto'}; concurrency: ${o.concurrency ?? 1}.`);
  if (o.retry) {
    lines.push(
      `A failing handler is tried up to ${o.retry.attempts} times (${o.retry.backoff} backoff from ${o.retry.delay} ms), then the message is dead-lettered.`,
    );
  }
  return lines.filter(Boolean).join('\n\n');
}

/** `x-mqtt-retry` of an operation: the retry policy without its predicate. */
function retryExtension(retry: RetryPolicy): Record<string, unknown> {
  const { attempts, delay, backoff, maxDelay, jitter } = retry;
  return { attempts, delay, backoff, maxDelay, jitter };
}
