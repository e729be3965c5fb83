import type { LoggerService } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import type { MqttDriverClient, MqttMessage, PublishProperties, UserProperty } from '../../driver/index.js';
import { MqttAsyncContext } from '../context/mqtt-async.context.js';
import type { MqttAsyncServerOptions } from '../options.js';
import {
  DEAD_LETTER_ERROR_PROPERTY,
  DEAD_LETTER_TOPIC_PROPERTY,
  FLAG,
  REPLY_EMPTY_PROPERTY,
  REPLY_ERROR_PROPERTY,
  REPLY_FINAL_PROPERTY,
  REPLY_MARKER_PROPERTY,
} from '../protocol.js';
import { extractParams } from '../routing/pattern.js';
import type { MqttAsyncRouter, RouteEntry, SubscriptionGroup } from '../routing/router.js';
import {
  type DecodedRequest,
  decodeRequest,
  encodeResponse,
  type PacketCodecOptions,
  type ResponsePacket,
} from '../serialization/index.js';
import type { AckTicket } from './ack-sequencer.js';
import { nestReplyTopic } from './nest-wire.js';
import { type ReplyPacket, settleEventResult, streamReplies, toRpcError } from './replies.js';

type Entry = RouteEntry<MessageHandler>;

/** Where an RPC result goes: MQTT 5 Response Topic, Nest's `<topic>/reply`, or nowhere. */
type ReplyRoute =
  | { kind: 'v5'; topic: string; correlationData?: Buffer }
  | { kind: 'nest'; topic: string; id: string }
  | { kind: 'none' };

/** What the server gives the dispatcher. */
export interface DispatcherHost {
  readonly router: MqttAsyncRouter<MessageHandler>;
  readonly options: MqttAsyncServerOptions;
  readonly logger: LoggerService;
  client(): MqttDriverClient;
  toObservable(result: unknown): Observable<unknown>;
}

/**
 * Handles one received message: decodes it, runs the RPC handler (if this subscription owns it) and every
 * matching event handler, publishes replies, and settles the ack according to the group's ack mode.
 */
export class MessageDispatcher {
  constructor(private readonly host: DispatcherHost) {}

  private get nestWire(): boolean {
    return this.host.options.nestWireFormat === true || this.host.client().protocolVersion === 4;
  }

  private codec(nestWire: boolean): PacketCodecOptions {
    const { serializer, deserializer } = this.host.options;
    return { serializer, deserializer, nestWire };
  }

  /** Returns the first handler error, if any (for the `message:handled` event). */
  async dispatch(group: SubscriptionGroup<MessageHandler>, message: MqttMessage, ticket: AckTicket) {
    const errors: unknown[] = [];
    const ackMode = group.options.ack;
    if (ackMode === 'auto') void ticket.ack();
    try {
      // The driver hands each message to a Subscription once, even when the broker sent one copy per filter.
      await this.route(group, message, ticket, errors);
    } catch (err) {
      errors.push(err);
      this.host.logger.error(`Message on '${message.topic}' failed: ${describe(err)}`);
    }
    if (ackMode === 'after') {
      if (errors.length > 0 && this.host.client().protocolVersion === 5) void ticket.nack(0x80);
      else void ticket.ack();
    }
    if (ticket.settled) await ticket.sent;
    return errors[0];
  }

  private async route(
    group: SubscriptionGroup<MessageHandler>,
    message: MqttMessage,
    ticket: AckTicket,
    errors: unknown[],
  ) {
    if (message.userProperties[REPLY_MARKER_PROPERTY] === FLAG) return;
    const topic = message.topic;
    const rpc = this.host.router.rpcRoute(topic);
    const rpcHere = rpc && rpc.group === group ? rpc : undefined;
    const events = this.host.router.eventRoutes(group, topic);
    if (!rpcHere && events.length === 0) return;

    let decoded: DecodedRequest;
    try {
      decoded = await decodeRequest(message, this.codec(this.nestWire));
    } catch (err) {
      errors.push(err);
      await this.rejectUndecodable(message, rpcHere, events, err);
      return;
    }
    if (decoded.isReply) return;
    const data = decoded.data;
    let reply: ReplyRoute = { kind: 'none' };
    const responseTopic = message.properties?.responseTopic;
    if (decoded.id !== undefined) {
      reply = { kind: 'nest', topic: nestReplyTopic(topic), id: decoded.id };
    } else if (responseTopic !== undefined) {
      reply = { kind: 'v5', topic: responseTopic, correlationData: message.properties.correlationData };
    }
    const runs: Promise<void>[] = [];
    if (rpcHere) runs.push(this.runRpc(rpcHere, message, data, ticket, reply, errors));
    for (const entry of events) runs.push(this.runEvent(entry, message, data, ticket, errors));
    await Promise.all(runs);
  }

  private context(entry: Entry, message: MqttMessage, ticket: AckTicket): MqttAsyncContext {
    return new MqttAsyncContext({
      topic: message.topic,
      params: extractParams(entry.route, message.topic),
      pattern: entry.route.pattern,
      message,
      ack: () => ticket.ack(),
      nack: (code) => ticket.nack(code),
    });
  }

  private async runRpc(
    entry: Entry,
    message: MqttMessage,
    data: unknown,
    ticket: AckTicket,
    reply: ReplyRoute,
    errors: unknown[],
  ) {
    const ctx = this.context(entry, message, ticket);
    let result$: Observable<unknown>;
    try {
      result$ = this.host.toObservable(await entry.handler(data, ctx));
    } catch (err) {
      errors.push(err);
      await this.publishReply(reply, message, { kind: 'error', err: toRpcError(err) });
      return;
    }
    if (reply.kind === 'none') {
      this.host.logger.warn?.(
        `@MessagePattern('${entry.route.pattern}') handled a message on '${message.topic}' that had no Response Topic; the result had nowhere to go`,
      );
    }
    await streamReplies(
      result$,
      async (packet) => {
        if (packet.kind === 'error') errors.push(packet.err);
        await this.publishReply(reply, message, packet);
      },
      (err) => this.host.logger.error(`Reply on '${message.topic}' could not be published: ${describe(err)}`),
    );
  }

  private async runEvent(entry: Entry, message: MqttMessage, data: unknown, ticket: AckTicket, errors: unknown[]) {
    const ctx = this.context(entry, message, ticket);
    try {
      await settleEventResult(await entry.handler(data, ctx));
    } catch (err) {
      errors.push(err);
      this.host.logger.error(`@EventPattern('${entry.route.pattern}') failed on '${message.topic}': ${describe(err)}`);
      await this.deadLetter(message, err);
    }
  }

  private async rejectUndecodable(message: MqttMessage, rpc: Entry | undefined, events: Entry[], err: unknown) {
    this.host.logger.error(`Message on '${message.topic}' could not be decoded: ${describe(err)}`);
    const responseTopic = message.properties?.responseTopic;
    if (rpc && responseTopic !== undefined) {
      const reply: ReplyRoute = {
        kind: 'v5',
        topic: responseTopic,
        correlationData: message.properties.correlationData,
      };
      await this.publishReply(reply, message, { kind: 'error', err: { status: 'error', message: describe(err) } });
    }
    if (events.length > 0 || !rpc || responseTopic === undefined) await this.deadLetter(message, err);
  }

  private async deadLetter(message: MqttMessage, err: unknown) {
    const topic = this.host.options.deadLetterTopic;
    if (!topic) return;
    const client = this.host.client();
    const properties: PublishProperties = {};
    if (client.protocolVersion === 5) {
      properties.userProperties = [
        [DEAD_LETTER_ERROR_PROPERTY, describe(err)],
        [DEAD_LETTER_TOPIC_PROPERTY, message.topic],
      ];
      if (message.properties.contentType) properties.contentType = message.properties.contentType;
    }
    try {
      await client.publish(topic, message.payload, { qos: message.qos, properties });
    } catch (e) {
      this.host.logger.error(`Dead-lettering '${message.topic}' to '${topic}' failed: ${describe(e)}`);
    }
  }

  private async publishReply(reply: ReplyRoute, request: MqttMessage, packet: ReplyPacket) {
    if (reply.kind === 'none') return;
    const client = this.host.client();
    const response: ResponsePacket = {
      isDisposed: packet.kind === 'error' || packet.kind === 'complete' || packet.final,
    };
    if (packet.kind === 'value') response.response = packet.response;
    if (packet.kind === 'error') response.err = packet.err;
    if (reply.kind === 'nest') {
      const encoded = await encodeResponse({ id: reply.id, ...response }, this.codec(true));
      const properties: PublishProperties = {};
      if (encoded.contentType !== undefined && client.protocolVersion === 5)
        properties.contentType = encoded.contentType;
      await client.publish(reply.topic, encoded.payload, { qos: request.qos, properties });
      return;
    }
    const encoded = await encodeResponse(response, this.codec(false));
    const userProperties: UserProperty[] = [[REPLY_MARKER_PROPERTY, FLAG]];
    if (packet.kind === 'value' && packet.final) userProperties.push([REPLY_FINAL_PROPERTY, FLAG]);
    if (packet.kind === 'error') userProperties.push([REPLY_ERROR_PROPERTY, FLAG], [REPLY_FINAL_PROPERTY, FLAG]);
    if (packet.kind === 'complete') userProperties.push([REPLY_FINAL_PROPERTY, FLAG], [REPLY_EMPTY_PROPERTY, FLAG]);
    const properties: PublishProperties = { userProperties };
    if (reply.correlationData !== undefined) properties.correlationData = reply.correlationData;
    if (encoded.contentType !== undefined) properties.contentType = encoded.contentType;
    await client.publish(reply.topic, encoded.payload, { qos: request.qos, properties });
  }
}

/** A short human description of any thrown value. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
