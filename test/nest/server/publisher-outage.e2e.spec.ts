/**
 * `server.publish()` (what `MqttAsyncPublisher` calls) while the server reconnects, on mosquitto behind a proxy
 * that takes the link down: QoS 1/2 publishes wait for the link (at most `offlineQueueSize`), are sent after the
 * reconnect and resolve; QoS 0 and the ones beyond the queue fail at once; one whose `publishTimeout` ran out fails
 * with `MqttAsyncNotConnectedError` and is never sent (a sentinel proves it); `close()` fails the waiting ones.
 */
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { type ClientStatus, connect, type MqttDriverClient, type Subscription } from '../../../lib/driver/index.js';
import { MqttAsyncNotConnectedError, ServerMqttAsync } from '../../../lib/nest/index.js';
import { take, until } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { type OutageProxy, startOutageProxy } from '../../support/outage-proxy.js';

const PUBLISH_TIMEOUT = 2500;

describeMosquitto.each([5, 4] as const)('server.publish() during an outage (protocol %s)', (protocolVersion) => {
  let mosquitto: MosquittoHandle;
  let proxy: OutageProxy;
  let server: ServerMqttAsync;
  let observer: MqttDriverClient;
  let seen: Subscription;
  let status: ClientStatus = 'connecting';

  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterEach(async () => {
    await server?.close();
    await observer?.disconnect();
    await proxy?.stop();
  });
  afterAll(async () => {
    await mosquitto?.stop();
  });

  async function start(): Promise<void> {
    status = 'connecting';
    proxy = await startOutageProxy(mosquitto.port);
    observer = await connect(mosquitto.url, { protocolVersion });
    seen = await observer.subscribe('outage/#', { qos: 1 });
    server = new ServerMqttAsync({
      url: proxy.url,
      protocolVersion,
      nestWireFormat: false,
      publishTimeout: PUBLISH_TIMEOUT,
      offlineQueueSize: 2,
      reconnect: { initialDelay: 50, maxDelay: 200 },
    });
    server.on('status', (s) => {
      status = s;
    });
    await new Promise<void>((resolve, reject) => server.listen((err) => (err ? reject(err) : resolve())));
  }

  async function outage(): Promise<void> {
    proxy.down();
    await until(() => status !== 'connected', 5000, 'the server to see the outage');
  }

  async function recover(): Promise<void> {
    proxy.up();
    await until(() => status === 'connected', 10_000, 'the server to reconnect');
  }

  const payloads = async (n: number) => (await take(seen, n)).map((m) => m.payload.toString());

  it('QoS 1 publishes wait for the reconnect (bounded in number); QoS 0 fails at once', async () => {
    await start();
    await outage();
    await expect(server.publish('outage/a', 'zero', { qos: 0 })).rejects.toBeInstanceOf(MqttAsyncNotConnectedError);
    const settled: string[] = [];
    const first = server.publish('outage/a', 'one').then(() => settled.push('one'));
    const second = server.publish('outage/a', 'two').then(() => settled.push('two'));
    await expect(server.publish('outage/a', 'three')).rejects.toMatchObject({
      name: 'MqttAsyncNotConnectedError',
      message: expect.stringMatching(/offlineQueueSize \(2\)/),
    });
    expect(settled).toEqual([]);
    await recover();
    await Promise.all([first, second]);
    expect(await payloads(2)).toEqual(['one', 'two']);
  });

  it('a publish whose publishTimeout ran out while offline fails and is never sent', async () => {
    await start();
    await outage();
    await expect(server.publish('outage/b', 'late')).rejects.toMatchObject({
      name: 'MqttAsyncNotConnectedError',
      message: expect.stringMatching(/publish\('outage\/b'\) not sent within 2500 ms \(publishTimeout\)/),
    });
    await recover();
    await server.publish('outage/b', 'sentinel');
    expect(await payloads(1)).toEqual(['sentinel']);
  });

  it('close() fails the publishes waiting for the link, promptly', async () => {
    await start();
    await outage();
    let failed = false;
    const waiting = server.publish('outage/c', 'never');
    waiting.catch(() => {
      failed = true;
    });
    await server.close();
    await new Promise(setImmediate);
    expect(failed).toBe(true); // by close(), not by its publishTimeout later
    await expect(waiting).rejects.toBeInstanceOf(MqttAsyncNotConnectedError);
    await expect(server.publish('outage/c', 'after')).rejects.toBeInstanceOf(MqttAsyncNotConnectedError);
  });
});
