import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAedes } from '../../support/aedes.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { endMqttJs, mosquittoPub, mosquittoSub, mqttJsClient } from '../../support/peers.js';

describeMosquitto('test harness: mosquitto, proxy, peers', () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true });
  });
  afterAll(() => broker.stop());

  it('mosquitto_sub receives what mosquitto_pub sends', async () => {
    // Retained, so mosquitto_sub gets it whenever its SUBSCRIBE lands (no sleep to let it start first).
    await mosquittoPub(broker.url, 'h/t', 'hello', ['-V', 'mqttv5', '-r']);
    const sub = await mosquittoSub(broker.url, 'h/t', 1, ['-V', 'mqttv5']);
    await mosquittoPub(broker.url, 'h/t', '', ['-V', 'mqttv5', '-r', '-n']);
    expect(sub.stdout.trim()).toBe('hello');
  });

  it('restart keeps the port and the queued messages of a persistent session', async () => {
    const peer = await mqttJsClient(broker.url, {
      clientId: 'harness-p',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await peer.subscribeAsync('h/q', { qos: 1 });
    await endMqttJs(peer, false);
    await mosquittoPub(broker.url, 'h/q', 'queued', ['-q', '1']);
    const before = broker.process.pid;
    await broker.restart();
    expect(broker.process.pid).not.toBe(before);
    const got = mosquittoSub(broker.url, 'h/q', 1, ['-q', '1', '-c', '-i', 'harness-p', '-V', 'mqttv5', '-x', '300']);
    expect((await got).stdout.trim()).toBe('queued');
  });

  it('the fault proxy forwards, cuts and blackholes', async () => {
    const proxy = await startFaultProxy(broker.port);
    try {
      const peer = await mqttJsClient(proxy.url);
      const closed = new Promise<void>((resolve) => peer.once('close', () => resolve()));
      await peer.publishAsync('h/p', 'x', { qos: 1 });
      proxy.cutAll();
      await closed;
      expect(proxy.cuts).toBe(1);
      await endMqttJs(peer);
    } finally {
      await proxy.stop();
    }
  });
});

describe('test harness: aedes', () => {
  for (const version of [4, 5] as const) {
    it(`aedes for MQTT ${version === 4 ? '3.1.1' : '5'} accepts an MQTT.js client`, async () => {
      const aedes = await startAedes({ version });
      try {
        const peer = await mqttJsClient(aedes.url, { protocolVersion: version });
        await peer.subscribeAsync('a/t', { qos: 1 });
        const got = new Promise<string>((resolve) => peer.once('message', (_t, p) => resolve(p.toString())));
        await peer.publishAsync('a/t', 'ok', { qos: 1 });
        expect(await got).toBe('ok');
        await endMqttJs(peer);
      } finally {
        await aedes.stop();
      }
    });
  }
});
