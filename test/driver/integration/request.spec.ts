import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, type MqttClient, MqttError, MqttTimeoutError } from '../../../lib/driver/index.js';
import { startAedes } from '../../support/aedes.js';
import { startFaultProxy } from '../../support/fault-proxy.js';
import { nextEvent, take } from '../../support/messages.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { mosquittoRr } from '../../support/peers.js';

/** Answers every request on `topic` (v5) with `reply:<payload>` and the request's correlation data. */
async function startResponder(client: MqttClient, topic: string): Promise<() => Promise<void>> {
  const sub = await client.subscribe(topic, { qos: 1 });
  const loop = (async () => {
    for await (const m of sub) {
      const responseTopic = m.properties.responseTopic;
      if (!responseTopic) continue;
      await client.publish(responseTopic, `reply:${m.payload.toString()}`, {
        qos: 1,
        properties: { correlationData: m.properties.correlationData, userProperties: [['served-by', 'responder']] },
      });
    }
  })();
  return async () => {
    await sub.unsubscribe();
    await loop;
  };
}

describeMosquitto('request/response on mosquitto', () => {
  let broker: MosquittoHandle;
  let server: MqttClient;
  let caller: MqttClient;
  let stopResponder: () => Promise<void>;
  beforeAll(async () => {
    broker = await startMosquitto();
    server = await connect(broker.url, { clientId: 'rr-server' });
    caller = await connect(broker.url, { clientId: 'rr-caller' });
    stopResponder = await startResponder(server, 'svc/echo');
  });
  afterAll(async () => {
    await stopResponder?.();
    await server?.disconnect();
    await caller?.disconnect();
    await broker?.stop();
  });

  it('v5: request() resolves with the reply carrying our correlation data', async () => {
    const reply = await caller.request('svc/echo', 'ping', { timeout: 5000, qos: 1 });
    expect(reply.payload.toString()).toBe('reply:ping');
    expect(reply.properties.correlationData).toHaveLength(16);
    expect(reply.userProperties['served-by']).toBe('responder');
  });

  it('v5: 300 concurrent requests each get their own reply', async () => {
    const replies = await Promise.all(
      Array.from({ length: 300 }, (_, i) => caller.request('svc/echo', String(i), { timeout: 10_000 })),
    );
    expect(replies.map((r) => r.payload.toString())).toEqual(Array.from({ length: 300 }, (_, i) => `reply:${i}`));
  });

  it('v5: a request nobody answers rejects with MqttTimeoutError; a late reply is dropped, never given to another request', async () => {
    const silent = await server.subscribe('svc/slow', { qos: 1 });
    const errors: Error[] = [];
    const onError = (e: Error) => errors.push(e);
    caller.on('error', onError);
    const spy = await connect(broker.url, { clientId: 'rr-spy' });
    try {
      const pending = caller.request('svc/slow', 'late', { timeout: 300 });
      await expect(pending).rejects.toBeInstanceOf(MqttTimeoutError);
      const [late] = await take(silent, 1);
      const responseTopic = late?.properties.responseTopic as string;
      // Another request waits on the same response topic while the late reply comes in.
      const waiting = caller.request('svc/slow', 'waiting', { timeout: 5000 });
      const [onTime] = await take(silent, 1);
      expect(onTime?.properties.responseTopic).toBe(responseTopic);
      // A spy on the caller's response topic proves the late reply was published there and routed.
      const spied = await spy.subscribe(responseTopic, { qos: 1 });
      await server.publish(responseTopic, 'too late', {
        qos: 1,
        properties: { correlationData: late?.properties.correlationData },
      });
      expect((await take(spied, 1))[0]?.payload.toString()).toBe('too late');
      // Same publisher, same topic, QoS 1: the caller gets the late reply first, then this one.
      await server.publish(responseTopic, 'on time', {
        qos: 1,
        properties: { correlationData: onTime?.properties.correlationData },
      });
      expect((await take(spied, 1))[0]?.payload.toString()).toBe('on time');
      const reply = await waiting;
      expect(reply.payload.toString()).toBe('on time');
      expect(reply.properties.correlationData?.equals(onTime?.properties.correlationData as Buffer)).toBe(true);
      expect(errors).toEqual([]);
      const ok = await caller.request('svc/echo', 'after-late', { timeout: 5000 });
      expect(ok.payload.toString()).toBe('reply:after-late');
    } finally {
      caller.off('error', onError);
      await silent.unsubscribe();
      await spy.disconnect();
    }
  });

  it('v5: our responder answers mosquitto_rr (interop with the C client)', async () => {
    const r = await mosquittoRr(broker.url, 'svc/echo', 'rr/answers', 'from-c', ['-q', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('reply:from-c');
  });

  it('v5: a request issued while the caller is reconnecting resolves after the reconnect', async () => {
    const proxy = await startFaultProxy(broker.port);
    const c = await connect(proxy.url, {
      clientId: 'rr-reconnect',
      cleanStart: false,
      sessionExpiryInterval: 60,
      reconnect: { initialDelay: 200, maxDelay: 400 },
    });
    try {
      await c.request('svc/echo', 'warm-up', { timeout: 5000 }); // makes the response subscription
      const lost = nextEvent(c, 'disconnect');
      proxy.cutAll();
      await lost;
      expect(c.status).not.toBe('connected');
      // At QoS 1 and at the default QoS 0: both wait for the connection instead of failing at once.
      const [reply, replyQos0] = await Promise.all([
        c.request('svc/echo', 'during-reconnect', { timeout: 8000, qos: 1 }),
        c.request('svc/echo', 'during-reconnect-qos0', { timeout: 8000 }),
      ]);
      expect(reply.payload.toString()).toBe('reply:during-reconnect');
      expect(replyQos0.payload.toString()).toBe('reply:during-reconnect-qos0');
      expect(proxy.accepted).toBe(2);
    } finally {
      await c.disconnect();
      await proxy.stop();
    }
  });

  it('v4: request() without responseTopic throws a clear error before any I/O', async () => {
    const v4 = await connect(broker.url, { protocolVersion: 4 });
    try {
      await expect(v4.request('svc/echo', 'x')).rejects.toThrow(/responseTopic/);
      await expect(v4.request('svc/echo', 'x')).rejects.toBeInstanceOf(MqttError);
    } finally {
      await v4.disconnect();
    }
  });
});

it('v4 on aedes: request() with an explicit responseTopic takes the first message there', async () => {
  const aedes = await startAedes({ version: 4 });
  const responder = await connect(aedes.url, { protocolVersion: 4 });
  const caller = await connect(aedes.url, { protocolVersion: 4 });
  try {
    const sub = await responder.subscribe('v4svc/ask', { qos: 1 });
    const loop = (async () => {
      for await (const m of sub) await responder.publish('v4svc/answer', `got:${m.payload}`, { qos: 1 });
    })();
    const reply = await caller.request('v4svc/ask', 'q1', { responseTopic: 'v4svc/answer', qos: 1, timeout: 5000 });
    expect(reply.payload.toString()).toBe('got:q1');
    const second = await caller.request('v4svc/ask', 'q2', { responseTopic: 'v4svc/answer', qos: 1, timeout: 5000 });
    expect(second.payload.toString()).toBe('got:q2');
    await sub.unsubscribe();
    await loop;
  } finally {
    await caller.disconnect();
    await responder.disconnect();
    await aedes.stop();
  }
});
