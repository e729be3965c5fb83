import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { type BrowserContext, chromium } from 'playwright-core';
import { AsyncApiModule, createAsyncApiDocument } from '../../../lib/nest/index.js';
import { AppModule } from '../../../sample/app.module.js';
import { binary } from '../../support/binaries.mjs';
import { describeIf } from '../../support/mosquitto.js';

const CHROMIUM = binary('chromium');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

describeIf(CHROMIUM !== undefined, 'chromium')('AsyncAPI page /docs in headless Chromium', () => {
  let app: INestApplication;
  let baseUrl: string;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.register({ url: 'mqtt://127.0.0.1:1', protocolVersion: 5 })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    const document = await createAsyncApiDocument(app, {
      title: 'Page test',
      servers: { broker: { url: 'mqtt://127.0.0.1:1883' } },
    });
    AsyncApiModule.setup('docs', app, document);
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    profile = mkdtempSync(join(tmpdir(), 'asyncapi-page-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM as string,
      headless: true,
      args: FLAGS,
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('renders every channel offline: no request leaves the app', async () => {
    const external: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(baseUrl) || url.startsWith('data:')) return route.continue();
      external.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const response = await page.goto(`${baseUrl}/docs`);
    expect(response?.status()).toBe(200);
    await page.getByText('devices/{id}/cmd').first().waitFor({ timeout: 30_000 });
    const text = (await page.locator('#asyncapi').textContent()) ?? '';
    for (const address of [
      'temperature-sensors/{deviceId}/temperature',
      'devices/{id}/cmd',
      'workers/jobs/#',
      'devices/events',
    ]) {
      expect(text).toContain(address);
    }
    expect(text).toContain('Page test');
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  }, 60_000);

  it('serves the document as JSON next to the page', async () => {
    const res = await fetch(`${baseUrl}/docs.json`);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(((await res.json()) as { asyncapi: string }).asyncapi).toBe('3.0.0');
  });
});
