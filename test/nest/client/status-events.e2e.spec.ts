import { afterEach, expect, it } from '@jest/globals';
import type { ConnectedEvent, MqttDriverClient } from '../../../lib/driver/index.js';
import { ClientMqttAsync, ServerMqttAsync } from '../../../lib/nest/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { freePort } from '../../support/ports.js';

/** Resolves on the next call of the returned listener. */
function nextCall<T>(): { listener: (value: T) => void; called: Promise<T> } {
  let listener!: (value: T) => void;
  const called = new Promise<T>((resolve) => {
    listener = resolve;
  });
  return { listener, called };
}

describeMosquitto('status, on() and unwrap() of ClientMqttAsync and ServerMqttAsync (mosquitto)', () => {
  let broker: MosquittoHandle | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await broker?.stop();
  });

  it('client: status follows the driver; on() listeners given before connect() see the first connect and a reconnect', async () => {
    broker = await startMosquitto();
    const client = new ClientMqttAsync({ url: broker.url, protocolVersion: 5, clientId: 'status-client' });
    cleanups.push(() => client.close());
    const statuses: string[] = [];
    client.status.subscribe((s) => statuses.push(s));
    const first = nextCall<ConnectedEvent>();
    const reconnected = nextCall<ConnectedEvent>();
    let connects = 0;
    const reconnecting: number[] = [];
    client.on('connect', (event) => (++connects === 1 ? first : reconnected).listener(event));
    client.on('reconnecting', ({ attempt }) => reconnecting.push(attempt));
    expect(() => client.unwrap()).toThrow(/not connected/);
    await client.connect();
    const driver = client.unwrap<MqttDriverClient>();
    expect(driver.clientId).toBe('status-client');
    expect(statuses).toEqual(['connecting', 'connected']);
    expect((await first.called).sessionPresent).toBe(false);

    await broker.restart();
    expect((await reconnected.called).sessionPresent).toBe(false);
    expect(reconnecting.length).toBeGreaterThanOrEqual(1);
    expect(statuses).toContain('reconnecting');
    expect(statuses.at(-1)).toBe('connected');
    expect(client.unwrap()).toBe(driver);

    await client.close();
    expect(statuses.at(-1)).toBe('closed');
    expect(() => client.unwrap()).toThrow(/not connected/);
  });

  it('client: connect() to a broker that is not there fails with an error naming the URL, status closed', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const client = new ClientMqttAsync({ url, reconnect: false });
    const statuses: string[] = [];
    client.status.subscribe((s) => statuses.push(s));
    await expect(client.connect()).rejects.toThrow(url);
    expect(statuses.at(-1)).toBe('closed');
    await client.close();
  });

  it('server: status, on() listeners given before listen() see a reconnect, unwrap()', async () => {
    broker = await startMosquitto();
    const server = new ServerMqttAsync({ url: broker.url, protocolVersion: 5, clientId: 'status-server' });
    cleanups.push(() => server.close());
    const statuses: string[] = [];
    server.status.subscribe((s) => statuses.push(s));
    const reconnected = nextCall<ConnectedEvent>();
    server.on('connect', reconnected.listener);
    expect(() => server.unwrap()).toThrow(/listen/);
    await new Promise<void>((resolve, reject) => server.listen((err) => (err ? reject(err) : resolve())));
    expect(server.unwrap<MqttDriverClient>().clientId).toBe('status-server');
    await broker.restart();
    expect((await reconnected.called).sessionPresent).toBe(false);
    expect(statuses).toContain('reconnecting');
    await server.close();
    expect(statuses.at(-1)).toBe('closed');
  });
});
