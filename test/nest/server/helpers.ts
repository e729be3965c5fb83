import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { MessageHandledEvent, MqttAsyncServerOptions } from '../../../lib/nest/index.js';
import { decodeReplyFlags, ServerMqttAsync } from '../../../lib/nest/index.js';
import { type BinaryName, requireBinary } from '../../support/binaries.mjs';
import { testConnector } from './support/connector.js';

export interface StartedApp {
  app: INestMicroservice;
  server: ServerMqttAsync;
  handled: MessageHandledEvent[];
  /** Resolves once `count` messages in total were handled. */
  handledCount(count: number): Promise<void>;
  /** Resolves once `count` messages on `topic` were handled since index `from`. */
  handledOn(topic: string, from: number, count?: number): Promise<MessageHandledEvent[]>;
}

export async function startApp(
  controllers: Array<new (...args: never[]) => unknown>,
  options: MqttAsyncServerOptions,
  configure?: (app: INestMicroservice) => void,
): Promise<StartedApp> {
  const moduleRef = await Test.createTestingModule({ controllers }).compile();
  const server = new ServerMqttAsync({ connector: testConnector, ...options });
  const handled: MessageHandledEvent[] = [];
  const waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  const wait = (ready: () => boolean) =>
    ready() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ ready, resolve }));
  server.on('message:handled', (event) => {
    handled.push(event);
    for (const w of waiters.filter((x) => x.ready())) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const on = (topic: string, from: number) => handled.slice(from).filter((h) => h.topic === topic);
  const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
  configure?.(app);
  await app.listen();
  return {
    app,
    server,
    handled,
    handledCount: (count) => wait(() => handled.length >= count),
    handledOn: async (topic, from, count = 1) => {
      await wait(() => on(topic, from).length >= count);
      return on(topic, from);
    },
  };
}

export async function outsideClient(url: string, protocolVersion: 4 | 5 = 5): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0 });
}

export interface Reply {
  payload: string;
  userProperties: Record<string, string | string[]>;
  contentType?: string;
  correlationData?: Buffer;
}

/** MQTT 5 request with Response Topic + Correlation Data; collects replies until the final one (no more-follows). */
export async function rpc(client: MqttClient, topic: string, payload: string | Buffer, props = {}): Promise<Reply[]> {
  const responseTopic = `replies/${randomUUID()}`;
  const correlationData = Buffer.from(randomUUID());
  await client.subscribeAsync(responseTopic, { qos: 1 });
  const replies: Reply[] = [];
  const done = new Promise<Reply[]>((resolve) => {
    const onMessage = (t: string, body: Buffer, packet: IPublishPacket) => {
      if (t !== responseTopic) return;
      const p = packet.properties ?? {};
      const reply: Reply = {
        payload: body.toString(),
        userProperties: (p.userProperties ?? {}) as Record<string, string>,
        ...(p.contentType ? { contentType: p.contentType } : {}),
        ...(p.correlationData ? { correlationData: p.correlationData } : {}),
      };
      replies.push(reply);
      if (decodeReplyFlags(reply.userProperties).final) {
        client.off('message', onMessage);
        resolve(replies);
      }
    };
    client.on('message', onMessage);
  });
  await client.publishAsync(topic, payload, { qos: 1, properties: { responseTopic, correlationData, ...props } });
  const result = await done;
  for (const r of result) {
    if (!r.correlationData?.equals(correlationData)) throw new Error('reply without the request correlation data');
  }
  await client.unsubscribeAsync(responseTopic);
  return result;
}

/** Runs a program the locator knows (test/support/binaries.mjs); rejects with its stderr on failure. */
export function run(cmd: BinaryName, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(requireBinary(cmd), args, { timeout: 10_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout),
    );
  });
}
