import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { renderAsyncApiHtml } from './html.js';
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
 * page works offline. Call it before `app.listen()`.
 */
export const AsyncApiModule = {
  setup(path: string, app: INestApplication, document: AsyncApiDocument, options: AsyncApiSetupOptions = {}): void {
    const base = `/${path.replace(/^\/+|\/+$/g, '')}`;
    const adapter = app.getHttpAdapter();
    const html = renderAsyncApiHtml(document, {
      bundleUrl: `${base}/assets/asyncapi-standalone.js`,
      stylesUrl: `${base}/assets/asyncapi.css`,
      ...(options.title ? { title: options.title } : {}),
    });
    const json = JSON.stringify(document, null, 2);
    const send = (res: unknown, type: string, body: string) => {
      adapter.setHeader(res, 'Content-Type', type);
      adapter.reply(res, body, 200);
    };
    adapter.get(base, (_req: unknown, res: unknown) => send(res, 'text/html; charset=utf-8', html));
    adapter.get(`${base}.json`, (_req: unknown, res: unknown) => send(res, 'application/json; charset=utf-8', json));
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

/** Reads a file of an installed package, looked up from this package and from the working directory. */
async function readAsset(specifier: string): Promise<string> {
  for (const from of [import.meta.url, join(process.cwd(), 'noop.js')]) {
    try {
      return await readFile(createRequire(from).resolve(specifier), 'utf8');
    } catch {
      // try the next location
    }
  }
  throw new Error(`AsyncAPI page: cannot find ${specifier}; run npm install @asyncapi/react-component`);
}
