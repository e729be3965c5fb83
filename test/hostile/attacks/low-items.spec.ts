/**
 * Low-severity items of issue 19, one test each: secrets in URLs and inspect(), control characters in logged
 * topics, quadratic trimming of Response Information, prefix-matched media types, payload bytes echoed by parse
 * errors, and the `/docs` page's headers.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { connect } from '../../../lib/driver/index.js';
import { redactUrl } from '../../../lib/driver/transport/url.js';
import {
  type AsyncApiDocument,
  AsyncApiModule,
  ClientMqttAsync,
  decodeMqttPayload,
  ServerMqttAsync,
} from '../../../lib/nest/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { useFakeBroker } from '../../support/fake-broker.js';
import { connectClient } from '../harness.js';
import { CaptureLogger } from './support/capture-logger.js';

const fake = useFakeBroker();
const SECRET = 's3cr/et?x#y';

describe('low: secrets', () => {
  it('redactUrl hides a password holding an unescaped / ? # or @', () => {
    for (const url of [`mqtt://user:${SECRET}@host:1883`, 'mqtts://u:p@ss/w?rd#@host', 'ws://u:a@b@host/mqtt']) {
      const shown = redactUrl(url);
      expect(shown).not.toMatch(/s3cr|et\?x|p@ss|w\?rd|a@b/);
      expect(shown).toMatch(/^[a-z]+:\/\/\*\*\*@/);
    }
  });

  it('connect errors and inspect() of the server, the client and the driver client never show the password', async () => {
    const url = `mqtt://user:${SECRET}@127.0.0.1:1`;
    const err = await connect(url, { reconnect: false }).catch((e: Error) => e);
    expect(String(err)).not.toContain('s3cr');
    const server = new ServerMqttAsync({ url, password: 'opt-secret' });
    const client = new ClientMqttAsync({ url, password: 'opt-secret' });
    const w = await connectClient(fake, 5, { password: 'opt-secret', username: 'u' });
    for (const shown of [
      inspect(server, { depth: 5 }),
      inspect(client, { depth: 5 }),
      inspect(w.client, { depth: 5 }),
    ]) {
      expect(shown).not.toContain('opt-secret');
      expect(shown).not.toContain('s3cr');
    }
    await w.client.disconnect();
  });
});

describe('low: peer-supplied text in logs and replies', () => {
  const lines = new CaptureLogger();
  let app: INestMicroservice | undefined;
  let broker: MqttAsyncTestBroker | undefined;
  afterEach(async () => {
    await app?.close();
    await broker?.close();
  });

  @Controller()
  class Sink {
    @EventPattern('sink/+')
    sink(@Payload() _data: unknown) {}
  }

  it('topics are logged with control characters escaped, payload bytes are not echoed', async () => {
    broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
    const moduleRef = await Test.createTestingModule({ controllers: [Sink] }).compile();
    app = moduleRef.createNestMicroservice({
      strategy: broker.createServer({ deadLetterTopic: 'dead/x' }),
      logger: lines,
    });
    await app.listen();
    const topic = 'sink/\u001b[2J\nFAKE LOG LINE\u2028';
    await broker.publish(topic, Buffer.from('TOKEN-abc123{'), { properties: { contentType: 'application/json' } });
    const logged = lines.all();
    expect(logged).toContain('sink/\\x1b[2J\\x0aFAKE LOG LINE\\u2028');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them
    expect(logged).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u2028]/);
    expect(logged).not.toContain('TOKEN');
    const [dead] = broker.published('dead/x');
    expect(JSON.stringify(dead?.userProperties)).not.toContain('TOKEN');
  });
});

describe('low: parsing', () => {
  const json = (contentType: string) =>
    decodeMqttPayload({ topic: 't', payload: Buffer.from('{"a":1}'), properties: { contentType } });

  it('media types match exactly: application/jsonp-evil is not JSON; parameters and +json suffixes are', () => {
    expect(json('application/jsonp-evil')).toEqual({ ok: true, value: Buffer.from('{"a":1}') });
    expect(json('application/json; charset=utf-8')).toEqual({ ok: true, value: { a: 1 } });
    expect(json('application/vnd.acme+json')).toEqual({ ok: true, value: { a: 1 } });
    expect(json('text/plainx; charset=utf-8')).toEqual({ ok: true, value: '{"a":1}' });
  });

  it('a broker-supplied Response Information of 65,534 slashes is trimmed (a loop, not a backtracking regex)', async () => {
    const w = await connectClient(fake, 5, {}, { properties: { responseInformation: `resp${'/'.repeat(65_530)}` } });
    w.conn.autoRespond();
    void w.client.request('svc/x', 'q', { timeout: 100 }).catch(() => undefined);
    const subscribe = await w.conn.next('subscribe');
    expect(subscribe.subscriptions[0]?.topicFilter).toMatch(/^resp\/[^/]+$/);
    await w.client.disconnect();
  });
});

describe('low: /docs', () => {
  it('serves the page with a hash-pinned Content-Security-Policy and nosniff on every response', () => {
    const routes = new Map<string, (req: unknown, res: Record<string, string>) => void>();
    const adapter = {
      get: (path: string, fn: (req: unknown, res: Record<string, string>) => void) => routes.set(path, fn),
      setHeader: (res: Record<string, string>, name: string, value: string) => {
        res[name.toLowerCase()] = value;
      },
      reply: (res: Record<string, string>, body: string) => {
        res.body = body;
      },
    };
    const app = { getHttpAdapter: () => adapter } as unknown as INestApplication;
    const document = { asyncapi: '3.0.0', info: { title: 'x', version: '1' } } as unknown as AsyncApiDocument;
    AsyncApiModule.setup('docs', app, document);
    const page: Record<string, string> = {};
    routes.get('/docs')?.({}, page);
    const json: Record<string, string> = {};
    routes.get('/docs.json')?.({}, json);
    expect(page['x-content-type-options']).toBe('nosniff');
    expect(json['x-content-type-options']).toBe('nosniff');
    const csp = page['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    const inline = [...(page.body ?? '').matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);
    for (const script of inline) {
      expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    }
    expect(csp).toMatch(/script-src 'self' 'sha256-[^']+' 'unsafe-eval'(;|$)/);
  });
});
