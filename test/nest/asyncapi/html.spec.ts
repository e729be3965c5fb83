import { describe, expect, it } from '@jest/globals';
import { type AsyncApiDocument, renderAsyncApiHtml } from '../../../lib/nest/index.js';

describe('renderAsyncApiHtml', () => {
  const doc: AsyncApiDocument = {
    asyncapi: '3.0.0',
    info: { title: 'A <b>"title"</b>', version: '1', description: '</script><script>alert(1)</script>' },
    channels: {},
    operations: {},
  };

  it('loads the bundle and styles from the given URLs and embeds the document', () => {
    const html = renderAsyncApiHtml(doc, { bundleUrl: '/docs/assets/a.js', stylesUrl: '/docs/assets/a.css' });
    expect(html).toContain('<script src="/docs/assets/a.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/docs/assets/a.css">');
    expect(html).toContain('AsyncApiStandalone.render(');
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
  });

  it('cannot be broken out of by text in the document', () => {
    const html = renderAsyncApiHtml(doc, { bundleUrl: 'b.js', stylesUrl: 's.css' });
    expect(html).toContain('<title>A &lt;b&gt;&quot;title&quot;&lt;/b&gt;</title>');
    expect(html.match(/<\/script>/g)).toHaveLength(2); // only our two script elements close
    const json = /schema: (.*),\n {2}config/.exec(html)?.[1] as string;
    expect(JSON.parse(json)).toEqual(doc);
  });
});
