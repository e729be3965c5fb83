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
  // `<` is escaped so no string in the document can close the script element.
  const json = JSON.stringify(document).replace(/</g, '\\u003c');
  const title = escapeHtml(options.title ?? document.info.title);
  return `<!doctype html>
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
<script>
AsyncApiStandalone.render({
  schema: ${json},
  config: { show: { sidebar: true, errors: true }, sidebar: { showOperations: 'byDefault' } },
}, document.getElementById('asyncapi'));
</script>
</body>
</html>
`;
}
