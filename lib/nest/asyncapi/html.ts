import { createHash } from 'node:crypto';
import type { AsyncApiDocument } from './types.js';

/** Where the page loads the AsyncAPI React standalone bundle and its stylesheet from. */
export interface AsyncApiHtmlOptions {
  /** URL of `@asyncapi/react-component/browser/standalone/index.js`. */
  bundleUrl: string;
  /** URL of `@asyncapi/react-component/styles/default.min.css`. */
  stylesUrl: string;
  /** Page title (default: the document's `info.title`). */
  title?: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** A self-contained HTML page rendering `document` with the AsyncAPI React component; no CDN involved. */
export function renderAsyncApiHtml(document: AsyncApiDocument, options: AsyncApiHtmlOptions): string {
  return renderAsyncApiPage(document, options).html;
}

/**
 * The page and the Content-Security-Policy to serve it with: scripts only from this origin plus the one inline
 * script, allowed by its SHA-256 hash, so text that slipped into the document could not run as a script.
 */
export function renderAsyncApiPage(
  document: AsyncApiDocument,
  options: AsyncApiHtmlOptions,
): { html: string; contentSecurityPolicy: string } {
  // `<` is escaped so no string in the document can close the script element.
  const json = JSON.stringify(document).replace(/</g, '\\u003c');
  const title = escapeHtml(options.title ?? document.info.title);
  const script = `
AsyncApiStandalone.render({
  schema: ${json},
  config: { show: { sidebar: true, errors: true }, sidebar: { showOperations: 'byDefault' } },
}, document.getElementById('asyncapi'));
`;
  const hash = createHash('sha256').update(script).digest('base64');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${escapeHtml(options.stylesUrl)}">
</head>
<body>
<div id="asyncapi"></div>
<script src="${escapeHtml(options.bundleUrl)}"></script>
<script>${script}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    // 'unsafe-eval': the AsyncAPI parser in the bundle compiles JSON Schemas with `new Function` (ajv).
    `script-src 'self' 'sha256-${hash}' 'unsafe-eval'`,
    "worker-src 'self' blob:",
    // The React component sets inline styles.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}
