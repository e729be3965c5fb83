import type { LoggerService } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, type Observable } from 'rxjs';
import type { MqttDriverClient, MqttMessage, PublishProperties } from '../../driver/index.js';
import { printable } from '../../driver/printable.js';
import { MqttAsyncContext } from '../context/mqtt-async.context.js';
import { describeError } from '../describe-error.js';
import type { MqttAsyncServerOptions } from '../options.js';
import { extractParams } from '../routing/pattern.js';
import type { RetryPolicy } from '../routing/retry-options.js';
import type { MqttAsyncRouter, RouteEntry, SubscriptionGroup } from '../routing/router.js';
import {
  type DecodedRequest,
  decodeRequest,
  type EncodedPayload,
  encodeResponse,
  isPromiseLike,
  type PacketCodecOptions,
  type PacketCodecs,
  packetCodecs,
  type ResponsePacket,
} from '../serialization/index.js';
import { nestReplyTopic } from '../serialization/nest-wire.js';
import { encodeReplyFlags, isOwnReply, type ReplyPacket } from '../serialization/reply.js';
import type { AckTicket } from './ack-sequencer.js';
import { type DeadLetterCause, deadLetterOf } from './dead-letter.js';
import { settleObservable, streamReplies, toRpcError } from './replies.js';
import { ReplyPolicy } from './reply-policy.js';
import { failedOnce, type HandlerFailure, type MessageSlot, runWithRetries } from './retry.js';
import { type DispatchOutcome, handlersDone } from './settle.js';

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
  /** The client replies and dead letters are published with. */
  client(): MqttDriverClient;
  /** The connection's protocol version (read per message: cheaper than through `client()`). */
  protocolVersion(): 4 | 5;
  toObservable(result: unknown): Observable<unknown>;
  /** Aborts when the server starts closing: Observable results are unsubscribed then. */
  readonly closing: AbortSignal;
  /** A failed try of the handler `pattern` will be tried again (telemetry). */
  retrying?(pattern: string, attempt: number, delay: number, error: unknown): void;
}

/**
 * Handles one received message: decodes it, runs the RPC handler (if this subscription owns it) and every
 * matching event handler, publishes replies, and settles the ack according to the group's ack mode.
 */
export class MessageDispatcher {
  private readonly codecs: PacketCodecs;
  private readonly replyPolicy: ReplyPolicy;

  constructor(private readonly host: DispatcherHost) {
    this.codecs = packetCodecs(host.options);
    this.replyPolicy = new ReplyPolicy(host.options, () => host.router, host.logger);
  }

  private nestWire(): boolean {
    return this.host.options.nestWireFormat === true || this.host.protocolVersion() === 4;
  }

  private codec(nestWire: boolean): PacketCodecOptions {
    return nestWire ? this.codecs.nest : this.codecs.native;
  }

  /**
   * Resolves with the first handler error, if any (for the `message:handled` event), once the handlers are done
   * and the message's ack (if settled) was handed to the driver. Not an async function: a message costs one
   * reaction on its handlers' promise (none when nothing runs) instead of an async frame and its awaits.
   */
  dispatch(
    group: SubscriptionGroup<MessageHandler>,
    message: MqttMessage,
    ticket: AckTicket,
    slot?: MessageSlot,
  ): Promise<unknown> {
    const outcome: DispatchOutcome = { errors: [], invoked: false, undecodable: false, slot };
    if (group.options.ack === 'auto') void ticket.ack();
    let running: Promise<unknown> | undefined;
    try {
      // The driver hands each message to a Subscription once, even when the broker sent one copy per filter.
      running = this.route(group, message, ticket, outcome);
    } catch (err) {
      this.routeFailed(message, outcome, err);
    }
    if (!running) return handlersDone(group.options.ack, ticket, outcome);
    return running.then(
      () => handlersDone(group.options.ack, ticket, outcome),
      (err: unknown) => {
        this.routeFailed(message, outcome, err);
        return handlersDone(group.options.ack, ticket, outcome);
      },
    );
  }

  private routeFailed(message: MqttMessage, outcome: DispatchOutcome, err: unknown): void {
    outcome.errors.push(err);
    this.host.logger.error(`Message on '${printable(message.topic)}' failed: ${describeError(err)}`);
  }

  /** Decodes and runs the handlers; synchronous up to the handler calls (undefined: nothing to wait for). */
  private route(
    group: SubscriptionGroup<MessageHandler>,
    message: MqttMessage,
    ticket: AckTicket,
    outcome: DispatchOutcome,
  ): Promise<unknown> | undefined {
    if (isOwnReply(message.userProperties)) return undefined;
    const topic = message.topic;
    const rpc = this.host.router.rpcRoute(topic);
    const rpcHere = rpc && rpc.group === group ? rpc : undefined;
    const events = this.host.router.eventRoutes(group, topic);
    if (!rpcHere && events.length === 0) return undefined;

    const undecodable = (err: unknown) => {
      outcome.errors.push(err);
      outcome.undecodable = true;
      return this.rejectUndecodable(message, rpcHere, events, err, ticket);
    };
    let decoded: ReturnType<typeof decodeRequest>;
    try {
      decoded = decodeRequest(message, this.codec(this.nestWire()));
    } catch (err) {
      return undecodable(err);
    }
    if (isPromiseLike(decoded)) {
      return decoded.then((d) => this.runHandlers(d, message, rpcHere, events, ticket, outcome), undecodable);
    }
    return this.runHandlers(decoded, message, rpcHere, events, ticket, outcome);
  }

  private runHandlers(
    decoded: DecodedRequest,
    message: MqttMessage,
    rpc: Entry | undefined,
    events: Entry[],
    ticket: AckTicket,
    outcome: DispatchOutcome,
  ): Promise<unknown> | undefined {
    if (decoded.isReply) return undefined;
    let reply: ReplyRoute = { kind: 'none' };
    const responseTopic = message.properties?.responseTopic;
    if (decoded.id !== undefined) {
      reply = { kind: 'nest', topic: nestReplyTopic(message.topic), id: decoded.id };
    } else if (responseTopic !== undefined) {
      reply = { kind: 'v5', topic: responseTopic, correlationData: message.properties.correlationData };
      // A refused Response Topic: the request is not run (its result would have nowhere to go).
      const entry = rpc;
      const ctx = () => this.context(entry!, message, ticket);
      if (rpc && !this.replyPolicy.allows(responseTopic, message.topic, ctx)) rpc = undefined;
      if (!rpc && events.length === 0) return undefined;
    }
    outcome.invoked = true;
    const errors = outcome.errors;
    const data = decoded.data;
    if (events.length === 0) return this.runRpc(rpc!, message, data, ticket, reply, errors);
    if (!rpc && events.length === 1) return this.runEvent(events[0]!, message, data, ticket, outcome);
    const runs: Promise<void>[] = [];
    if (rpc) runs.push(this.runRpc(rpc, message, data, ticket, reply, errors));
    for (const entry of events) runs.push(this.runEvent(entry, message, data, ticket, outcome));
    const slot = outcome.slot;
    if (!slot) return Promise.all(runs);
    // Several runs share the message's slot: it is given back during a retry delay only when no run is working.
    slot.runs = runs.length;
    return Promise.all(runs.map((run) => run.finally(() => slot.runEnded())));
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
    let result: unknown;
    try {
      result = await entry.handler(data, ctx);
    } catch (err) {
      errors.push(err);
      await this.publishReply(reply, message, { kind: 'error', err: toRpcError(err) });
      return;
    }
    if (reply.kind === 'none') {
      this.host.logger.warn?.(
        `@MessagePattern('${entry.route.pattern}') handled a message on '${printable(message.topic)}' that had no Response Topic; the result had nowhere to go`,
      );
    }
    const onError = (err: unknown) =>
      this.host.logger.error(`Reply on '${printable(message.topic)}' could not be published: ${describeError(err)}`);
    if (!isObservable(result)) {
      // A plain value (what `transformToObservable` would wrap in `of()`): one final reply.
      try {
        await this.publishReply(reply, message, { kind: 'value', response: result, final: true });
      } catch (err) {
        onError(err);
      }
      return;
    }
    await streamReplies(
      this.host.toObservable(result),
      async (packet) => {
        if (packet.kind === 'error') errors.push(packet.err);
        await this.publishReply(reply, message, packet);
      },
      onError,
      this.host.closing,
    );
  }

  /** An event handler's run: one try without a retry policy (one reaction per message), else with retries. */
  private runEvent(
    entry: Entry,
    message: MqttMessage,
    data: unknown,
    ticket: AckTicket,
    outcome: DispatchOutcome,
  ): Promise<void> {
    const policy = entry.options.retry;
    if (policy) return this.runEventWithRetries(entry, policy, message, data, ticket, outcome);
    return this.attemptEvent(entry, message, data, ticket).then(undefined, (error: unknown) =>
      this.eventFailed(entry, message, outcome, failedOnce(error)),
    );
  }

  private async runEventWithRetries(
    entry: Entry,
    policy: RetryPolicy,
    message: MqttMessage,
    data: unknown,
    ticket: AckTicket,
    outcome: DispatchOutcome,
  ) {
    const where = () => `@EventPattern('${entry.route.pattern}') on '${printable(message.topic)}'`;
    const result = await runWithRetries(
      policy,
      async (n) => this.attemptEvent(entry, message, n === 1 ? data : await this.decodeAgain(message), ticket),
      {
        slot: outcome.slot,
        closing: this.host.closing,
        settled: () => entry.group.options.ack === 'manual' && ticket.settled,
        retrying: (err, n, delay) => {
          this.host.logger.warn?.(
            `${where()} failed (attempt ${n} of ${policy.attempts}): ${describeError(err)}; retrying in ${delay} ms`,
          );
          this.host.retrying?.(entry.route.pattern, n, delay, err);
        },
      },
    );
    if (result === 'closed') {
      outcome.abandoned = true;
      this.host.logger.warn?.(`${where()}: close() ended its retries; left unacknowledged for redelivery`);
    } else if (result) {
      await this.eventFailed(entry, message, outcome, result);
    }
  }

  /**
   * One run of an event handler's pipeline (guards, interceptors, pipes, handler, filters); rejects when it
   * failed, also when the handler threw synchronously. Nest's pipeline returns a Promise: one reaction on it.
   */
  private attemptEvent(entry: Entry, message: MqttMessage, data: unknown, ticket: AckTicket): Promise<void> {
    let result: unknown;
    try {
      result = entry.handler(data, this.context(entry, message, ticket));
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve(result).then((value) =>
      isObservable(value) ? this.settleEventObservable(entry, message, value) : undefined,
    );
  }

  private async settleEventObservable(entry: Entry, message: MqttMessage, result: Observable<unknown>) {
    if ((await settleObservable(result, this.host.closing)) === 'closed') {
      this.host.logger.warn?.(
        `@EventPattern('${entry.route.pattern}') on '${printable(message.topic)}': its Observable was unsubscribed by close()`,
      );
    }
  }

  /** A retry gets freshly decoded data: a failed try may have changed the objects it was given. */
  private async decodeAgain(message: MqttMessage): Promise<unknown> {
    return (await decodeRequest(message, this.codec(this.nestWire()))).data;
  }

  /** The handler failed for good: logged at ERROR, dead-lettered (with `deadLetterTopic`), settled by dispatch. */
  private async eventFailed(entry: Entry, message: MqttMessage, outcome: DispatchOutcome, failure: HandlerFailure) {
    const { error, attempts } = failure;
    outcome.errors.push(error);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : failure.final ? ' (not retryable)' : '';
    this.host.logger.error(
      `@EventPattern('${entry.route.pattern}') failed on '${printable(message.topic)}'${tries}: ${describeError(error)}`,
    );
    await this.deadLetter(message, { ...failure, error: describeError(error), pattern: entry.route.pattern });
  }

  private async rejectUndecodable(
    message: MqttMessage,
    rpc: Entry | undefined,
    events: Entry[],
    err: unknown,
    ticket: AckTicket,
  ) {
    this.host.logger.error(`Message on '${printable(message.topic)}' could not be decoded: ${describeError(err)}`);
    let responseTopic = message.properties?.responseTopic;
    if (
      rpc &&
      responseTopic !== undefined &&
      !this.replyPolicy.allows(responseTopic, message.topic, () => this.context(rpc, message, ticket))
    ) {
      responseTopic = undefined; // refused: no error reply either; dead-lettered below like a request without one
    }
    if (rpc && responseTopic !== undefined) {
      const reply: ReplyRoute = {
        kind: 'v5',
        topic: responseTopic,
        correlationData: message.properties.correlationData,
      };
      await this.publishReply(reply, message, { kind: 'error', err: { status: 'error', message: describeError(err) } });
    }
    if (events.length > 0 || !rpc || responseTopic === undefined) {
      const now = Date.now();
      await this.deadLetter(message, { error: describeError(err), attempts: 0, firstFailure: now, lastFailure: now });
    }
  }

  private async deadLetter(message: MqttMessage, cause: DeadLetterCause) {
    const topic = this.host.options.deadLetterTopic;
    if (!topic) return;
    const client = this.host.client();
    const { payload, properties } = deadLetterOf(message, cause, client.protocolVersion === 5);
    try {
      await client.publish(topic, payload, { qos: message.qos, properties });
    } catch (e) {
      this.host.logger.error(`Dead-lettering '${printable(message.topic)}' to '${topic}' failed: ${describeError(e)}`);
    }
  }

  /** Publishes one reply; the encoding is synchronous unless a custom serializer is async. */
  private publishReply(reply: ReplyRoute, request: MqttMessage, packet: ReplyPacket): Promise<unknown> | undefined {
    if (reply.kind === 'none') return undefined;
    const response: ResponsePacket = {
      isDisposed: packet.kind === 'error' || packet.kind === 'complete' || packet.final,
    };
    if (packet.kind === 'value') response.response = packet.response;
    if (packet.kind === 'error') response.err = packet.err;
    const encoded =
      reply.kind === 'nest'
        ? encodeResponse({ id: reply.id, ...response }, this.codecs.nest)
        : encodeResponse(response, this.codecs.native);
    if (isPromiseLike(encoded)) {
      return Promise.resolve(encoded).then((e) => this.sendReply(reply, request, packet, e));
    }
    return this.sendReply(reply, request, packet, encoded);
  }

  private sendReply(
    reply: Exclude<ReplyRoute, { kind: 'none' }>,
    request: MqttMessage,
    packet: ReplyPacket,
    encoded: EncodedPayload,
  ): Promise<unknown> {
    const client = this.host.client();
    const properties: PublishProperties = {};
    if (reply.kind === 'nest') {
      if (encoded.contentType !== undefined && client.protocolVersion === 5)
        properties.contentType = encoded.contentType;
      return client.publish(reply.topic, encoded.payload, { qos: request.qos, properties });
    }
    properties.userProperties = encodeReplyFlags(packet);
    if (reply.correlationData !== undefined) properties.correlationData = reply.correlationData;
    if (encoded.contentType !== undefined) properties.contentType = encoded.contentType;
    return client.publish(reply.topic, encoded.payload, { qos: request.qos, properties });
  }
}
