/*
 * TEST-ONLY bridge: an MqttDriverClient on MQTT.js, used while the driver's connect() has not landed.
 * Real broker traffic, MQTT.js standing in for our driver. Replace with the driver once available.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type {
  Connector,
  MqttDriverClient,
  MqttMessage,
  PublishProperties,
  QoS,
  Subscription,
} from '../../../../lib/driver/index.js';
import { topicMatches } from '../../../../lib/driver/index.js';

/** Every message the server acknowledged through this bridge (ack or nack), in call order. */
export const serverAcks: MqttMessage[] = [];

interface Sub {
  filters: string[];
  queue: MqttMessage[];
  waiters: Array<(r: IteratorResult<MqttMessage>) => void>;
  done: boolean;
}

function toMessage(packet: IPublishPacket, ack: (code: number) => void): MqttMessage {
  const p = (packet.properties ?? {}) as Record<string, unknown>;
  const userProperties = (p.userProperties ?? {}) as Record<string, string | string[]>;
  let acked = false;
  const once = (code: number) => {
    if (acked) return Promise.resolve();
    acked = true;
    serverAcks.push(message);
    ack(code);
    return Promise.resolve();
  };
  const properties: PublishProperties = {};
  if (p.responseTopic) properties.responseTopic = p.responseTopic as string;
  if (p.correlationData) properties.correlationData = p.correlationData as Buffer;
  if (p.contentType) properties.contentType = p.contentType as string;
  const message: MqttMessage = {
    topic: packet.topic,
    payload: Buffer.from(packet.payload as Buffer),
    qos: packet.qos as QoS,
    retain: packet.retain,
    dup: packet.dup,
    properties,
    userProperties,
    ack: () => once(0),
    nack: (code = 0x80) => once(code),
  };
  return message;
}

export const mqttjsConnector: Connector = async (url, options = {}) => {
  const subs: Sub[] = [];
  const deliver = (message: MqttMessage) => {
    for (const sub of subs) {
      if (sub.done || !sub.filters.some((f) => topicMatches(f, message.topic))) continue;
      const waiter = sub.waiters.shift();
      if (waiter) waiter({ value: message, done: false });
      else sub.queue.push(message);
    }
  };
  const reconnect = options.reconnect;
  const maxAttempts = reconnect === false ? 1 : (reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY);
  const clientOptions: IClientOptions = {
    protocolVersion: options.protocolVersion ?? 5,
    clean: options.cleanStart ?? true,
    reconnectPeriod: 100,
    connectTimeout: options.connectTimeout ?? 5000,
    // MQTT.js reads no further packet until a PUBLISH is acknowledged, so the bridge acks on receipt
    // (deferred acks would deadlock it); ack order is covered by the AckSequencer unit test.
    customHandleAcks: (_topic, _message, packet, done) => {
      done(0 as never);
      deliver(toMessage(packet, () => undefined));
    },
  };
  if (options.clientId) clientOptions.clientId = options.clientId;
  if (options.sessionExpiryInterval)
    clientOptions.properties = { sessionExpiryInterval: options.sessionExpiryInterval };
  const client: MqttClient = mqtt.connect(url, clientOptions);
  client.on('message', (_t, _m, packet) => {
    if (packet.qos === 0) deliver(toMessage(packet, () => undefined));
  });
  await new Promise<void>((resolve, reject) => {
    let attempts = 0;
    const onError = (err: Error) => {
      if (++attempts >= maxAttempts) {
        client.end(true);
        reject(err);
      }
    };
    client.on('error', onError);
    client.on('close', () => {
      if (!client.connected && ++attempts >= maxAttempts) {
        client.end(true);
        reject(new Error(`connect to ${url} failed after ${attempts} attempts`));
      }
    });
    client.once('connect', () => {
      client.off('error', onError);
      resolve();
    });
  });
  client.on('error', () => undefined);
  const driverClient: MqttDriverClient = {
    get status() {
      return client.connected ? 'connected' : 'disconnected';
    },
    protocolVersion: (options.protocolVersion ?? 5) as 4 | 5,
    clientId: client.options.clientId ?? '',
    serverProperties: undefined,
    async publish(topic, payload, opts = {}) {
      const props = opts.properties ? { ...opts.properties } : undefined;
      const userProperties = props?.userProperties
        ? Object.fromEntries(props.userProperties.map(([k, v]) => [k, v]))
        : undefined;
      await client.publishAsync(topic, Buffer.from(payload as Uint8Array), {
        qos: opts.qos ?? 0,
        retain: opts.retain ?? false,
        ...(props && driverClient.protocolVersion === 5 ? { properties: { ...props, userProperties } as never } : {}),
      });
      return { reasonCode: 0 };
    },
    async subscribe(filter, opts = {}) {
      const filters = Array.isArray(filter) ? filter : [filter];
      const granted = await client.subscribeAsync(filters, {
        qos: opts.qos ?? 0,
        ...(opts.noLocal !== undefined ? { nl: opts.noLocal } : {}),
      });
      const sub: Sub = {
        filters: filters.map((f) => f.replace(/^\$share\/[^/]+\//, '')),
        queue: [],
        waiters: [],
        done: false,
      };
      subs.push(sub);
      const end = () => {
        sub.done = true;
        for (const w of sub.waiters.splice(0)) w({ value: undefined, done: true });
      };
      const subscription: Subscription = {
        filters,
        granted: granted.map((g) => g.qos),
        async unsubscribe() {
          end();
          await client.unsubscribeAsync(filters).catch(() => undefined);
        },
        [Symbol.asyncIterator]() {
          return {
            next: () =>
              new Promise<IteratorResult<MqttMessage>>((resolve) => {
                const queued = sub.queue.shift();
                if (queued) resolve({ value: queued, done: false });
                else if (sub.done) resolve({ value: undefined, done: true });
                else sub.waiters.push(resolve);
              }),
          };
        },
        async [Symbol.asyncDispose]() {
          await subscription.unsubscribe();
        },
      };
      return subscription;
    },
    request() {
      return Promise.reject(new Error('not supported by the test bridge'));
    },
    async disconnect() {
      for (const sub of subs) {
        sub.done = true;
        for (const w of sub.waiters.splice(0)) w({ value: undefined, done: true });
      }
      await client.endAsync();
    },
    on() {
      return driverClient;
    },
    off() {
      return driverClient;
    },
  };
  return driverClient;
};
