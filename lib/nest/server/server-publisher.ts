import type { ClientStatus, MqttDriverClient, PublishResult } from '../../driver/index.js';
import { ConnectionGate, DEFAULT_OFFLINE_QUEUE_SIZE, type GateNaming } from '../client/connection-gate.js';
import { DEFAULT_PUBLISH_TIMEOUT, EventPublisher } from '../client/event-publisher.js';
import { MqttAsyncNotConnectedError } from '../errors.js';
import type { MqttAsyncServerOptions } from '../options.js';
import { MqttAsyncRecord, type MqttAsyncRecordOptions } from '../record/mqtt-async.record.js';
import { unwrapRecord } from '../record/outgoing.js';
import { packetCodecs } from '../serialization/index.js';

/** Default QoS of the server's own publishes (`server.publish()`, `MqttAsyncPublisher`). */
export const DEFAULT_SERVER_PUBLISH_QOS = 1;

const SERVER_NAMING: GateNaming = {
  who: 'ServerMqttAsync',
  verb: 'publish',
  restart: 'close the server and listen() again, or restart the service',
};

/** What the publisher needs of its `ServerMqttAsync`. */
export interface PublisherHost {
  readonly options: MqttAsyncServerOptions;
  /** The server's driver client (telemetry-wrapped when telemetry is on); undefined before `listen()`. */
  producer(): MqttDriverClient | undefined;
  /** Registers a listener of the driver's status events (also before `listen()`). */
  onStatus(listener: (status: ClientStatus) => void): void;
}

/**
 * Publishes on the server's own connection, with `ClientMqttAsync.emit()`'s options and bounds: records
 * (`MqttAsyncRecord`, Nest's `MqttRecord`) for QoS, retain and MQTT 5 properties, the server's serializer,
 * events wrapped as `{pattern,data}` in the Nest wire format (3.1.1, or `nestWireFormat: true`), as the client
 * wraps them. Every publish settles within `publishTimeout`. While the link is down a QoS 1/2 publish waits for
 * it (at most `offlineQueueSize` at once) and is never sent once its time ran out; a QoS 0 publish fails at once.
 * Before `listen()` it fails at once with `MqttAsyncNotConnectedError` (status `disconnected`).
 */
export class ServerPublisher {
  private readonly gate: ConnectionGate;
  private readonly events: EventPublisher;

  constructor(private readonly host: PublisherHost) {
    const { options } = host;
    const codecs = packetCodecs(options);
    this.gate = new ConnectionGate(options.url, options.offlineQueueSize ?? DEFAULT_OFFLINE_QUEUE_SIZE, SERVER_NAMING);
    this.events = new EventPublisher({
      gate: this.gate,
      client: () => this.client(),
      // As ClientMqttAsync wraps events, so that a server on 3.1.1 (Nest's ServerMqtt too) decodes them.
      codec: (client) => ((options.nestWireFormat ?? client.protocolVersion === 4) ? codecs.nest : codecs.native),
      qos: DEFAULT_SERVER_PUBLISH_QOS,
      timeoutMs: options.publishTimeout ?? DEFAULT_PUBLISH_TIMEOUT,
    });
    host.onStatus((status) => {
      this.gate.onStatus(status);
      if (status !== 'closed') return;
      // Closed by close(), or reconnecting gave up: nothing waiting for the link will be sent.
      this.gate.failAll(() => this.gate.notConnected('publish() waiting for the connection failed'));
    });
  }

  /** See {@link ServerPublisher}; `options` win over a record's own (its properties are merged). */
  publish(topic: string, data: unknown, options?: MqttAsyncRecordOptions): Promise<PublishResult> {
    return this.events.emit<PublishResult>(topic, options ? withOptions(data, options) : data);
  }

  private client(): MqttDriverClient {
    const client = this.host.producer();
    if (client) {
      // A connector may hand over a client already connected, without a status event (the in-memory broker's).
      if (client.status !== this.gate.status) this.gate.onStatus(client.status);
      return client;
    }
    throw new MqttAsyncNotConnectedError(
      'disconnected',
      'ServerMqttAsync is not listening yet: publish after app.listen() / app.startAllMicroservices() resolved',
    );
  }
}

function withOptions(data: unknown, options: MqttAsyncRecordOptions): MqttAsyncRecord {
  const message = unwrapRecord(data);
  const merged: MqttAsyncRecordOptions = { ...message.options, ...options };
  if (message.options.properties && options.properties) {
    merged.properties = { ...message.options.properties, ...options.properties };
  }
  return new MqttAsyncRecord(message.data, merged);
}
