import {
  MqttDisconnectedError,
  type MqttDriverClient,
  type PublishOptions,
  type PublishResult,
} from '../../driver/index.js';

/** Unconfirmed publishes allowed before `publish()` waits for its own confirmation again. */
export const MAX_UNCONFIRMED_PUBLISHES = 1_000;

/**
 * The driver client as the dispatcher sees it: `publish()` resolves once the PUBLISH was handed to the driver
 * (which keeps publishes in order and resends them within the session), not when the broker confirmed it.
 * A handler's concurrency slot is then free as soon as its replies left: waiting a PUBACK round trip per
 * message capped a `concurrency: 1` RPC handler at one request per broker round trip.
 *
 * Confirmations are still tracked: a failure is reported to `onError`, `settled()` lets `close()` wait for
 * them, and beyond {@link MAX_UNCONFIRMED_PUBLISHES} a publish waits for its own confirmation (backpressure
 * instead of an unbounded queue).
 */
const HANDED_OFF: Promise<PublishResult> = Promise.resolve({ reasonCode: 0 });

/**
 * A reply or dead letter made while the link is down must not be lost: the driver drops QoS 0 publishes when
 * not connected ("Not connected"), so those leave at QoS 1 instead, queued by the driver and sent after the
 * reconnect (bounded by {@link MAX_UNCONFIRMED_PUBLISHES} here). A QoS 0 write that fails because the link
 * dropped under it is retried the same way. QoS 1/2 publishes are queued by the driver already.
 */
function publishSurvivingOutages(
  client: MqttDriverClient,
  topic: string,
  payload: string | Uint8Array,
  options: PublishOptions = {},
): Promise<PublishResult> {
  if ((options.qos ?? 0) > 0) return client.publish(topic, payload, options);
  const queued = () => client.publish(topic, payload, { ...options, qos: 1 });
  if (client.status !== 'connected') return queued();
  return client.publish(topic, payload, options).catch((err: unknown) => {
    if (err instanceof MqttDisconnectedError && client.status !== 'closed') return queued();
    throw err;
  });
}

export class HandedOffPublisher {
  private readonly unconfirmed = new Set<Promise<unknown>>();
  private wrapped: MqttDriverClient | undefined;
  private target: MqttDriverClient | undefined;

  constructor(private readonly onError: (err: unknown, topic: string) => void) {}

  /** `client` with `publish()` replaced; every other member is the client's own. */
  wrap(client: MqttDriverClient): MqttDriverClient {
    if (this.target === client && this.wrapped) return this.wrapped;
    const publish = (topic: string, payload: string | Uint8Array, options?: PublishOptions) =>
      this.publish(client, topic, payload, options);
    this.target = client;
    this.wrapped = new Proxy(client, {
      get(target, property) {
        if (property === 'publish') return publish;
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return this.wrapped;
  }

  private publish(
    client: MqttDriverClient,
    topic: string,
    payload: string | Uint8Array,
    options?: PublishOptions,
  ): Promise<PublishResult> {
    let confirmed: Promise<PublishResult>;
    try {
      confirmed = publishSurvivingOutages(client, topic, payload, options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.unconfirmed.size >= MAX_UNCONFIRMED_PUBLISHES) return confirmed;
    const tracked: Promise<void> = confirmed.then(
      () => {
        this.unconfirmed.delete(tracked);
      },
      (err: unknown) => {
        this.unconfirmed.delete(tracked);
        this.onError(err, topic);
      },
    );
    this.unconfirmed.add(tracked);
    return HANDED_OFF;
  }

  /** Publishes handed off and not yet confirmed (or failed). */
  get pending(): number {
    return this.unconfirmed.size;
  }

  /** Resolves once every publish handed off so far was confirmed or failed. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.unconfirmed]);
  }
}
