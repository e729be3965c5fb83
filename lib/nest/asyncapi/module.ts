import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type INestApplication, Logger } from '@nestjs/common';
import { MqttAsyncConfigError } from '../errors.js';
import { renderAsyncApiPage } from './html.js';
import type { AsyncApiDocument } from './types.js';

const BUNDLE = '@asyncapi/react-component/browser/standalone/index.js';
const STYLES = '@asyncapi/react-component/styles/default.min.css';

/** Options of {@link AsyncApiModule.setup}. */
export interface AsyncApiSetupOptions {
  /** Page title (default: the document's `info.title`). */
  title?: string;
}

/**
 * Serves an AsyncAPI document from a Nest HTTP app, like `SwaggerModule.setup`:
 * `/<path>` (HTML page), `/<path>.json` (the document), and the page's script and stylesheet under
 * `/<path>/assets/`, read from the installed `@asyncapi/react-component` (an optional peer dependency), so the
 * page works offline. Call it before `app.listen()`. Without that package it logs a warning here, at startup, and
 * `/<path>` says what to install (`/<path>.json` is served either way).
 */
export const AsyncApiModule = {
  setup(path: string, app: INestApplication, document: AsyncApiDocument, options: AsyncApiSetupOptions = {}): void {
    const base = `/${path.replace(/^\/+|\/+$/g, '')}`;
    const adapter = app.getHttpAdapter();
    const missing = pageAssetsMissing()
      ? `${base}: the AsyncAPI page needs @asyncapi/react-component, which is not installed (npm install @asyncapi/react-component); only ${base}.json is served.`
      : undefined;
    if (missing) new Logger('AsyncApiModule').warn(missing);
    const page = missing
      ? { html: renderMissingPage(base, missing), contentSecurityPolicy: "default-src 'none'" }
      : renderAsyncApiPage(document, {
          bundleUrl: `${base}/assets/asyncapi-standalone.js`,
          stylesUrl: `${base}/assets/asyncapi.css`,
          ...(options.title ? { title: options.title } : {}),
        });
    const json = JSON.stringify(document, null, 2);
    const send = (res: unknown, type: string, body: string) => {
      adapter.setHeader(res, 'Content-Type', type);
      adapter.setHeader(res, 'X-Content-Type-Options', 'nosniff');
      adapter.reply(res, body, 200);
    };
    adapter.get(base, (_req: unknown, res: unknown) => {
      adapter.setHeader(res, 'Content-Security-Policy', page.contentSecurityPolicy);
      send(res, 'text/html; charset=utf-8', page.html);
    });
    adapter.get(`${base}.json`, (_req: unknown, res: unknown) => send(res, 'application/json; charset=utf-8', json));
    if (missing) return;
    const asset = (route: string, specifier: string, type: string) => {
      let body: Promise<string> | undefined;
      adapter.get(`${base}/assets/${route}`, (_req: unknown, res: unknown) => {
        body ??= readAsset(specifier);
        body.then(
          (text) => send(res, type, text),
          (err: Error) => {
            body = undefined;
            adapter.setHeader(res, 'Content-Type', 'text/plain; charset=utf-8');
            adapter.reply(res, err.message, 500);
          },
        );
      });
    };
    asset('asyncapi-standalone.js', BUNDLE, 'text/javascript; charset=utf-8');
    asset('asyncapi.css', STYLES, 'text/css; charset=utf-8');
  },
};

/**
 * Where optional peers are resolved from: this file (CommonJS build only: `import.meta` cannot appear in source
 * that also compiles to CommonJS, and ESM has no `__filename`), the app's entry script, the working directory.
 */
function resolutionBases(): string[] {
  const bases: string[] = [];
  if (typeof __filename === 'string') bases.push(__filename);
  if (process.argv[1]) bases.push(process.argv[1]);
  bases.push(join(process.cwd(), 'noop.js'));
  return bases;
}

/** Path of a file of an installed package, or undefined. */
function resolvePeerFile(specifier: string): string | undefined {
  for (const from of resolutionBases()) {
    try {
      return createRequire(from).resolve(specifier);
    } catch {
      // try the next location
    }
  }
  return undefined;
}

/** True when the page's script or stylesheet cannot be found (the optional peer is not installed). */
function pageAssetsMissing(): boolean {
  return !resolvePeerFile(BUNDLE) || !resolvePeerFile(STYLES);
}

/** The page served instead of the React one when its bundle is missing: says what to install, links the JSON. */
function renderMissingPage(base: string, reason: string): string {
  const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>AsyncAPI</title></head>
<body>
<p>${html(reason)} <a href="${html(base)}.json">${html(base)}.json</a></p>
</body>
</html>
`;
}

/** Reads a file of an installed package. */
async function readAsset(specifier: string): Promise<string> {
  const file = resolvePeerFile(specifier);
  if (!file)
    throw new MqttAsyncConfigError(
      `AsyncAPI page: cannot find ${specifier}; run npm install @asyncapi/react-component`,
    );
  return readFile(file, 'utf8');
}
