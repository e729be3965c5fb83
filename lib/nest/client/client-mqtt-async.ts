import { randomUUID } from 'node:crypto';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { connect as driverConnect, type MqttDriverClient, type Subscription } from '../../driver/index.js';
import type { MqttAsyncClientOptions } from '../options.js';
import { FLAG, REPLY_EMPTY_PROPERTY, REPLY_ERROR_PROPERTY, REPLY_FINAL_PROPERTY } from '../protocol.js';
import { MqttAsyncRecord } from '../record/index.js';
import { decodePayload, encodePayload } from '../serialization/index.js';

type Callback = (packet: WritePacket) => void;

/** Nest `ClientProxy` over the nest-mqtt-async driver (MQTT 5 request/response; events with record options). */
export class ClientMqttAsync extends ClientProxy {
  private client?: MqttDriverClient;
  private connecting?: Promise<MqttDriverClient>;
  private replies?: Subscription;
  private readonly replyTopic = `nest-mqtt-async/replies/${randomUUID()}`;
  private readonly pending = new Map<string, Callback>();

  constructor(protected readonly options: MqttAsyncClientOptions) {
    super();
  }

  /** Connects (once) and subscribes to this client's response topic. */
  connect(): Promise<MqttDriverClient> {
    this.connecting ??= this.open().catch((err) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async open(): Promise<MqttDriverClient> {
    const connector = this.options.connector ?? driverConnect;
    const client = await connector(this.options.url, this.options);
    this.replies = await client.subscribe(this.replyTopic, { qos: 1 });
    void this.consumeReplies(this.replies);
    this.client = client;
    return client;
  }

  private async consumeReplies(replies: Subscription): Promise<void> {
    for await (const message of replies) {
      const id = message.properties.correlationData?.toString();
      const callback = id === undefined ? undefined : this.pending.get(id);
      if (!callback) continue;
      const final = message.userProperties[REPLY_FINAL_PROPERTY] === FLAG;
      const decoded = decodePayload(message);
      if (!decoded.ok) {
        callback({ err: decoded.error, isDisposed: true });
      } else if (message.userProperties[REPLY_ERROR_PROPERTY] === FLAG) {
        callback({ err: (decoded.value as { err?: unknown })?.err ?? decoded.value, isDisposed: true });
      } else if (final && message.userProperties[REPLY_EMPTY_PROPERTY] === FLAG) {
        callback({ response: undefined, isDisposed: true });
      } else {
        callback({ response: decoded.value });
        if (final) callback({ response: undefined, isDisposed: true });
      }
      if (final) this.pending.delete(id as string);
    }
  }

  /** Disconnects and rejects every pending `send()`. */
  async close(): Promise<void> {
    for (const callback of this.pending.values()) {
      callback({ err: new Error('ClientMqttAsync closed before the reply arrived; retry after connect()') });
    }
    this.pending.clear();
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    await client?.disconnect();
  }

  /** The underlying driver client. */
  unwrap<T = MqttDriverClient>(): T {
    if (!this.client) throw new Error('ClientMqttAsync is not connected; call connect() first');
    return this.client as T;
  }

  /** Status events are exposed through `status`; no driver events are forwarded yet. */
  override on(): void {}

  protected publish(packet: ReadPacket, callback: Callback): () => void {
    const id = randomUUID();
    const timeout = setTimeout(() => {
      this.pending.delete(id);
      callback({ err: new Error(`No reply to '${String(packet.pattern)}' within requestTimeout`) });
    }, this.options.requestTimeout ?? 30_000);
    timeout.unref?.();
    this.pending.set(id, (reply) => {
      if (reply.err !== undefined || reply.isDisposed) clearTimeout(timeout);
      callback(reply);
    });
    this.connect()
      .then((client) => {
        const { payload, contentType } = encodePayload(packet.data);
        return client.publish(this.normalizePattern(packet.pattern), payload, {
          qos: this.options.qos ?? 1,
          properties: { responseTopic: this.replyTopic, correlationData: Buffer.from(id), contentType },
        });
      })
      .catch((err) => this.pending.get(id)?.({ err }));
    return () => {
      clearTimeout(timeout);
      this.pending.delete(id);
    };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const client = await this.connect();
    const record = packet.data instanceof MqttAsyncRecord ? packet.data : undefined;
    const { payload, contentType } = encodePayload(record ? record.data : packet.data);
    const options = record?.options ?? {};
    return (await client.publish(this.normalizePattern(packet.pattern), payload, {
      qos: options.qos ?? this.options.qos ?? 1,
      retain: options.retain,
      properties: { contentType, ...options.properties },
    })) as T;
  }
}
