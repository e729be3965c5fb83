import {
  connect,
  type MqttClientOptions,
  type MqttDriverClient,
  type PublishProperties,
  topicMatches,
} from '../../../lib/driver/index.js';
import {
  ClientMqttAsync,
  decodeMqttPayload,
  encodeMqttPayload,
  type MessageHandledEvent,
  type MqttAsyncClientOptions,
  type MqttAsyncServerOptions,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import {
  MqttAsyncTestBroker,
  type PublishedRecord,
  type RecordFilter,
  rpcRequest,
  type TestPublishOptions,
  type TestRequestOptions,
  type UnackedRecord,
} from '../../../lib/testing/index.js';
import { type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';

/**
 * Where a scenario runs: the in-memory broker, or a real mosquitto with the real driver. Both hand out real
 * `ServerMqttAsync` / `ClientMqttAsync`; only the broker underneath differs.
 */
export interface World {
  readonly kind: 'memory' | 'mosquitto' | 'rabbitmq';
  readonly protocolVersion: 4 | 5;
  createServer(options?: Partial<MqttAsyncServerOptions>): ServerMqttAsync;
  createClient(options?: Partial<MqttAsyncClientOptions>): ClientMqttAsync;
  /** A raw driver client (an outside publisher / subscriber). */
  connect(options?: MqttClientOptions): Promise<MqttDriverClient>;
  /** Publishes from outside and resolves once the servers' handlers for it settled. */
  publish(topic: string, payload: unknown, options?: TestPublishOptions): Promise<void>;
  request<T = unknown>(topic: string, payload: unknown, options?: TestRequestOptions): Promise<T>;
  /** The first PUBLISH matching `filter` seen by the broker. */
  waitFor(filter: RecordFilter<PublishedRecord>, options?: { timeout?: number }): Promise<PublishedRecord>;
  /** In memory only: QoS 1/2 deliveries nobody acknowledged (no real broker exposes this). */
  unacked?(): UnackedRecord[];
  close(): Promise<void>;
}

export type WorldFactory = (protocolVersion: 4 | 5) => Promise<World>;

export const memoryWorld: WorldFactory = async (protocolVersion) => {
  const broker = new MqttAsyncTestBroker({ protocolVersion });
  return {
    kind: 'memory',
    protocolVersion,
    createServer: (o) => broker.createServer(o),
    createClient: (o) => broker.createClient(o),
    connect: (o) => broker.connect(o),
    publish: (t, p, o) => broker.publish(t, p, o),
    request: (t, p, o) => broker.request(t, p, o),
    waitFor: (f, o) => broker.waitFor(f, o),
    unacked: () => broker.unacked(),
    close: () => broker.close(),
  };
};

/** How many handled events a PUBLISH on `topic` causes: one per matching subscription group, once per share. */
function expectedHandlings(servers: ServerMqttAsync[], topic: string): number {
  let count = 0;
  const shares = new Set<string>();
  for (const server of servers) {
    let client: MqttDriverClient;
    try {
      client = server.unwrap();
    } catch {
      continue;
    }
    if (client.status !== 'connected') continue;
    for (const group of server.router.groups()) {
      const hit = server.router.subscribeFilters(group).find((f) => topicMatches(f, topic));
      if (hit === undefined) continue;
      if (!hit.startsWith('$share/')) count++;
      else if (!shares.has(hit)) {
        shares.add(hit);
        count++;
      }
    }
  }
  return count;
}

/** The same world on a private mosquitto (one per world, so retained messages and sessions never leak). */
export const mosquittoWorld: WorldFactory = async (protocolVersion) => {
  const broker: MosquittoHandle = await startMosquitto();
  return brokerWorld('mosquitto', broker.url, protocolVersion, () => broker.stop());
};

/**
 * The world on a real broker at `url`; `release` runs last in close(). A broker shared by several worlds (RabbitMQ
 * boots too slowly for one per test) keeps sessions, so scenarios use fresh client ids; close() clears the
 * retained messages the world saw so the next world does not get them.
 */
export async function brokerWorld(
  kind: 'mosquitto' | 'rabbitmq',
  url: string,
  protocolVersion: 4 | 5,
  release: () => Promise<void>,
): Promise<World> {
  const retainedTopics = new Set<string>();
  const servers: ServerMqttAsync[] = [];
  const clients: ClientMqttAsync[] = [];
  const drivers: MqttDriverClient[] = [];
  const handled: MessageHandledEvent[] = [];
  const log: PublishedRecord[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  const until = (ready: () => boolean, timeout: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (ready()) return resolve();
      const check = () => {
        if (!ready()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${kind} world: ${what} did not happen within ${timeout} ms`));
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });

  const driver = async (o: MqttClientOptions = {}) => {
    const client = await connect(url, { protocolVersion, reconnect: false, ...o });
    drivers.push(client);
    return client;
  };
  const observer = await driver();
  const observed = await observer.subscribe('#', { qos: 2, retainAsPublished: true, retainHandling: 2 });
  void (async () => {
    for await (const m of observed) {
      const decoded = decodeMqttPayload(m);
      if (m.retain) retainedTopics.add(m.topic);
      log.push({
        topic: m.topic,
        payload: decoded.ok ? decoded.value : m.payload,
        rawPayload: m.payload,
        qos: m.qos,
        retain: m.retain,
        properties: m.properties,
        userProperties: m.userProperties,
        clientId: '',
      });
      notify();
    }
  })();
  const publisher = await driver();

  const settle = async (topic: string, from: number, expected: number) => {
    const count = () => handled.slice(from).filter((h) => h.topic === topic).length;
    await until(() => count() >= expected, 5000, `${expected} handled message(s) on '${topic}'`);
  };

  return {
    kind,
    protocolVersion,
    createServer(o = {}) {
      const server = new ServerMqttAsync({ protocolVersion, ...o, url });
      server.on('message:handled', (event) => {
        handled.push(event);
        notify();
      });
      servers.push(server);
      return server;
    },
    createClient(o = {}) {
      const client = new ClientMqttAsync({ protocolVersion, ...o, url });
      clients.push(client);
      return client;
    },
    connect: driver,
    async publish(topic, payload, o = {}) {
      const from = handled.length;
      const expected = expectedHandlings(servers, topic);
      const { payload: bytes, contentType } = encodeMqttPayload(payload);
      const properties: PublishProperties = { ...(contentType ? { contentType } : {}), ...o.properties };
      const userProperties = o.userProperties;
      if (userProperties) {
        const list = Array.isArray(userProperties) ? userProperties : Object.entries(userProperties);
        properties.userProperties = [...(properties.userProperties ?? []), ...list];
      }
      if (o.retain) retainedTopics.add(topic);
      await publisher.publish(topic, bytes, { qos: o.qos ?? 1, retain: o.retain ?? false, properties });
      await settle(topic, from, expected);
    },
    async request(topic, payload, o = {}) {
      const from = handled.length;
      const expected = expectedHandlings(servers, topic);
      const result = await rpcRequest(publisher, topic, payload, {
        wire: o.wire ?? (protocolVersion === 5 ? 'mqtt5' : 'nest'),
        ...(o.qos !== undefined ? { qos: o.qos } : {}),
        ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      });
      await settle(topic, from, expected);
      return result as never;
    },
    async waitFor(filter, o = {}) {
      const find = () => log.find((r) => (typeof filter === 'string' ? topicMatches(filter, r.topic) : filter(r)));
      const what = typeof filter === 'string' ? `a message on '${filter}'` : 'a matching message';
      await until(() => find() !== undefined, o.timeout ?? 5000, what);
      return find() as PublishedRecord;
    },
    async close() {
      await Promise.allSettled(servers.map((s) => s.close()));
      await Promise.allSettled(clients.map((c) => c.close()));
      await Promise.allSettled([...retainedTopics].map((t) => publisher.publish(t, '', { qos: 1, retain: true })));
      await Promise.allSettled(drivers.map((d) => d.disconnect()));
      await release();
    },
  };
}
