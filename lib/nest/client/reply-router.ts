import type { Logger } from '@nestjs/common';
import type { MqttMessage, Subscription } from '../../driver/index.js';
import { printable } from '../../driver/printable.js';
import {
  type DecodedResponse,
  decodeResponse,
  isPromiseLike,
  type PacketCodecOptions,
} from '../serialization/index.js';
import type { PendingRequests } from './pending-requests.js';

/** Routes the replies a `ClientMqttAsync` receives (MQTT 5 Response Topic or Nest `<topic>/reply`) to its sends. */
export class ReplyRouter {
  constructor(
    private readonly pending: PendingRequests,
    private readonly codec: (nestWire: boolean) => PacketCodecOptions,
    private readonly log: Logger,
  ) {}

  /** Consumes the private MQTT 5 reply subscription until it ends. */
  async consume(replies: Subscription): Promise<void> {
    for await (const message of replies) {
      const done = this.onReply(message, false);
      if (done) await done;
    }
  }

  /** Routes one reply to its pending `send()`; never throws. A Promise only with a custom deserializer. */
  onReply(message: MqttMessage, nestWire: boolean): Promise<void> | undefined {
    let decoded: ReturnType<typeof decodeResponse>;
    try {
      decoded = decodeResponse(message, this.codec(nestWire));
    } catch (err) {
      this.onUndecodable(message, nestWire, err);
      return undefined;
    }
    if (!isPromiseLike(decoded)) {
      this.route(decoded);
      return undefined;
    }
    return decoded.then(
      (reply) => this.route(reply),
      (err: unknown) => this.onUndecodable(message, nestWire, err),
    );
  }

  private onUndecodable(message: MqttMessage, nestWire: boolean, err: unknown): void {
    const id = nestWire ? undefined : message.properties?.correlationData?.toString();
    if (id !== undefined && this.pending.deliver(id, { err, isDisposed: true })) return;
    this.log.warn(`Undecodable reply on '${printable(message.topic)}' dropped: ${(err as Error).message}`);
  }

  private route(reply: DecodedResponse): void {
    if (reply.id === undefined) return;
    if (reply.err !== undefined && reply.err !== null)
      this.pending.deliver(reply.id, { err: reply.err, isDisposed: true });
    else if (reply.isDisposed) this.pending.deliver(reply.id, { response: reply.response, isDisposed: true });
    else this.pending.deliver(reply.id, { response: reply.response });
  }
}
