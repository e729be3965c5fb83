import net from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { TransportFactory } from '../../../lib/driver/index.js';
import type { MqttAsyncServerOptions } from '../../../lib/nest/index.js';
import { MqttAsyncContext } from '../../../lib/nest/index.js';
import { eventually } from '../../support/eventually.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { outsideClient, type StartedApp, startApp } from './helpers.js';
import { serverAcks } from './support/connector.js';

/** This file's deadline: 10_000 ms unless a call says otherwise. */
const until = (predicate: () => boolean, what: string | (() => string), ms = 10_000) => eventually(predicate, what, ms);

interface Job {
  n: number;
  code?: number;
}

/** What the handlers got, per server run (0, then 1 after the reconnect). */
const state = {
  run: 0,
  nacked: [[], []] as Array<Array<{ n: number; dup: boolean }>>,
  held: [[], []] as Array<Array<{ n: number; dup: boolean }>>,
};

@Controller()
class JobsController {
  /** First run: nack (with the job's code, or the default); later runs: ack. */
  @EventPattern<string>('jobs/nack', { qos: 1, ack: 'manual' })
  async nack(@Payload() job: Job, @Ctx() ctx: MqttAsyncContext) {
    state.nacked[state.run]!.push({ n: job.n, dup: ctx.getMessage().dup });
    if (state.run > 0) return ctx.ack();
    return job.code === undefined ? ctx.nack() : ctx.nack(job.code);
  }

  /** The control: first run leaves the message unacknowledged, so the broker must redeliver it. */
  @EventPattern<string>('jobs/held', { qos: 1, ack: 'manual', concurrency: 2 })
  async held(@Payload() job: Job, @Ctx() ctx: MqttAsyncContext) {
    state.held[state.run]!.push({ n: job.n, dup: ctx.getMessage().dup });
    if (state.run > 0) await ctx.ack();
  }
}

/** Every MQTT packet the server wrote and read, decoded with mqtt-packet (the independent codec). */
const wire = { out: [] as Packet[], in: [] as Packet[] };

/** A TCP transport for the driver that decodes both directions of the byte stream into `wire`. */
const tappedTransport: TransportFactory = (url) =>
  new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const outbound = mqttPacket.parser({ protocolVersion: 5 });
    const inbound = mqttPacket.parser({ protocolVersion: 5 });
    outbound.on('packet', (p) => wire.out.push(p));
    inbound.on('packet', (p) => wire.in.push(p));
    const write = socket.write.bind(socket) as (chunk: Uint8Array, cb?: (err?: Error | null) => void) => boolean;
    Object.assign(socket, {
      write: (chunk: Uint8Array, cb?: (err?: Error | null) => void) => {
        outbound.parse(Buffer.from(chunk));
        return write(chunk, cb);
      },
    });
    socket.on('data', (chunk: Buffer) => inbound.parse(chunk));
    socket.once('connect', () => resolve(socket));
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });

/** The PUBACK reason code the server sent for the PUBLISH it received on `topic` with payload `payload`. */
function pubackFor(topic: string, payload: string): number | undefined {
  const publish = wire.in.find(
    (p): p is mqttPacket.IPublishPacket => p.cmd === 'publish' && p.topic === topic && p.payload.toString() === payload,
  );
  if (publish?.messageId === undefined) return undefined;
  const puback = wire.out.find(
    (p): p is mqttPacket.IPubackPacket => p.cmd === 'puback' && p.messageId === publish.messageId,
  );
  return puback ? (puback.reasonCode ?? 0) : undefined;
}

describeMosquitto('ctx.nack(code) on mosquitto (MQTT 5, QoS 1, ack: manual, persistent session)', () => {
  let broker: MosquittoHandle;
  let publisher: MqttClient;
  const options: MqttAsyncServerOptions = {
    url: '',
    protocolVersion: 5,
    clientId: 'nack-e2e-server',
    cleanStart: false,
    sessionExpiryInterval: 300,
    transport: tappedTransport,
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    options.url = broker.url;
    publisher = await outsideClient(broker.url);
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.stop();
  });

  it('sends the PUBACK with the nack reason code, and the broker does not redeliver after a reconnect', async () => {
    const first: StartedApp = await startApp([JobsController], options);
    const acksBefore = serverAcks.length;
    await publisher.publishAsync('jobs/nack', '{"n":1,"code":131}', { qos: 1 });
    await publisher.publishAsync('jobs/nack', '{"n":2}', { qos: 1 });
    await publisher.publishAsync('jobs/held', '{"n":1}', { qos: 1 });
    await until(() => state.nacked[0]!.length === 2 && state.held[0]!.length === 1, 'the first run handlers');
    await until(() => pubackFor('jobs/nack', '{"n":2}') !== undefined, 'the PUBACKs of the nacked messages');

    // on the wire: 0x83 as given, 0x80 (unspecified error) by default; nothing for the held message
    expect(pubackFor('jobs/nack', '{"n":1,"code":131}')).toBe(0x83);
    expect(pubackFor('jobs/nack', '{"n":2}')).toBe(0x80);
    expect(pubackFor('jobs/held', '{"n":1}')).toBeUndefined();
    // and through the driver interface the server was given (testConnector): both nacks, not the held one
    const settled = serverAcks.slice(acksBefore).map((m) => `${m.topic} ${m.payload.toString()}`);
    expect(settled).toEqual(['jobs/nack {"n":1,"code":131}', 'jobs/nack {"n":2}']);
    await first.app.close();

    // reconnect to the same session: an unacknowledged message comes back (the control), a nacked one does not
    state.run = 1;
    const second: StartedApp = await startApp([JobsController], options);
    try {
      const connack = wire.in.filter((p): p is mqttPacket.IConnackPacket => p.cmd === 'connack').at(-1);
      expect(connack?.sessionPresent).toBe(true);
      await publisher.publishAsync('jobs/nack', '{"n":3}', { qos: 1 });
      await until(() => state.nacked[1]!.length > 0 && state.held[1]!.length > 0, 'the second run handlers');
      // anything redelivered is sent on resume, before the new message: it would be handled first
      expect(state.held[1]).toEqual([{ n: 1, dup: true }]);
      expect(state.nacked[1]).toEqual([{ n: 3, dup: false }]);
    } finally {
      await second.app.close();
    }
  });
});
