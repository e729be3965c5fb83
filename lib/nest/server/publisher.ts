import type { PublishResult } from '../../driver/index.js';
import type { AsyncApiPublisher, AsyncApiPublishesOptions } from '../asyncapi/decorators.js';
import { MqttAsyncNotConnectedError } from '../errors.js';
import { listeningServers } from '../health/listening.js';
import type { MqttAsyncRecordOptions } from '../record/mqtt-async.record.js';

/** What {@link MqttAsyncPublisher} publishes through: a `ServerMqttAsync` (its `publish()`). */
export interface MqttAsyncPublishTarget {
  publish(topic: string, data: unknown, options?: MqttAsyncRecordOptions): Promise<PublishResult>;
}

function isTarget(value: unknown): boolean {
  return typeof (value as Partial<MqttAsyncPublishTarget> | undefined)?.publish === 'function';
}

/**
 * Publishes on a `ServerMqttAsync`'s own connection: no second client, client id or keepalive. Inject it where
 * `MqttAsyncPublisherModule` is imported (HTTP controllers of a hybrid app, services, MQTT handlers).
 *
 * `publish(topic, data, options?)` takes what `ClientMqttAsync.emit()` takes: plain data (objects as JSON, strings
 * as UTF-8, bytes as they are, or the server's `serializer`), a `MqttAsyncRecord` or Nest's `MqttRecord` for QoS
 * (default 1), retain and MQTT 5 properties; `options` override the record's. It resolves with the driver's
 * `PublishResult` once the broker confirmed it (QoS 1/2) or it was written (QoS 0), within the server's
 * `publishTimeout` (default 30 s). While the server reconnects, QoS 1/2 publishes wait for the link (at most
 * `offlineQueueSize` at once, never sent once their time ran out: `MqttAsyncNotConnectedError`), QoS 0 ones fail
 * at once. Before the server is listening, `publish()` fails at once with `MqttAsyncNotConnectedError`.
 * With telemetry on, the publish carries the current trace context (a handler's, an HTTP request's).
 *
 * `declare(topic, { payload })` lists a publication in the AsyncAPI document (a `send` operation).
 */
export class MqttAsyncPublisher {
  private readonly declared: AsyncApiPublisher[] = [];

  /** `server`: the server to publish through; without it, the `ServerMqttAsync` listening in this process. */
  constructor(private readonly server?: MqttAsyncPublishTarget) {}

  /** See {@link MqttAsyncPublisher}. */
  publish(topic: string, data: unknown, options?: MqttAsyncRecordOptions): Promise<PublishResult> {
    let target: MqttAsyncPublishTarget;
    try {
      target = this.target();
    } catch (err) {
      return Promise.reject(err);
    }
    return target.publish(topic, data, options);
  }

  /** Declares a topic this app publishes to, for the AsyncAPI document (`createAsyncApiDocument`). Chainable. */
  declare(topic: string, options: AsyncApiPublishesOptions = {}): this {
    this.declared.push({ ...options, topic });
    return this;
  }

  /** The publications declared with {@link declare}. */
  get declarations(): readonly AsyncApiPublisher[] {
    return this.declared;
  }

  private target(): MqttAsyncPublishTarget {
    if (this.server) return this.server;
    const last = [...listeningServers].reverse().find(isTarget) as MqttAsyncPublishTarget | undefined;
    if (last) return last;
    throw new MqttAsyncNotConnectedError(
      'disconnected',
      'No ServerMqttAsync is listening in this process: publish after app.startAllMicroservices() / app.listen() ' +
        'resolved, or bind the publisher to a server with MqttAsyncPublisherModule.forServer(server)',
    );
  }
}
