import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { brokenLinks, documentationFiles, headingAnchors, missingPaths } from './links.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

describe('links of README.md, CONTRIBUTING.md and docs/*.md', () => {
  const fixture = join(ROOT, '.tmp', `links-${process.pid}`);
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('every relative link resolves to an existing file, and every anchor to a heading of that file', () => {
    const files = documentationFiles(ROOT);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'docs/architecture.md']));
    expect(brokenLinks(ROOT, files)).toEqual([]);
  });

  it('every repository path named in inline code (`lib/…`, `test/…`, `bench/…`…) exists', () => {
    const files = documentationFiles(ROOT);
    expect(missingPaths(ROOT, files)).toEqual([]);
  });

  it('finds a path that does not exist, outside code blocks only (the check can fail)', () => {
    mkdirSync(join(fixture, 'paths'), { recursive: true });
    writeFileSync(
      join(fixture, 'paths/README.md'),
      '`lib/gone.ts` and `README.md` and `test/*.spec.ts`\n```\n`lib/in-code.ts`\n```\n`test/` `bench/x.mjs`\n',
    );
    mkdirSync(join(fixture, 'paths/test'), { recursive: true });
    expect(missingPaths(join(fixture, 'paths'), ['README.md'])).toEqual([
      { file: 'README.md', line: 1, path: 'lib/gone.ts' },
      { file: 'README.md', line: 5, path: 'bench/x.mjs' },
    ]);
  });

  it('finds a missing file, a missing heading and a missing local anchor (the check can fail)', () => {
    mkdirSync(join(fixture, 'docs'), { recursive: true });
    writeFileSync(join(fixture, 'docs/a.md'), '# A: `the` first\n\n## Twice\n\n## Twice\n');
    writeFileSync(
      join(fixture, 'README.md'),
      [
        '# Readme',
        '[ok](docs/a.md#a-the-first) [ok](docs/a.md#twice-1) [ok](#readme) [web](https://example.com/x#y)',
        '`[not a link](nowhere.md)`',
        '[gone](docs/b.md) [no heading](docs/a.md#twice-2)',
        '[no local](#nothing)',
        '```md',
        '[in a code block](nowhere.md)',
        '```',
      ].join('\n'),
    );
    expect(brokenLinks(fixture, documentationFiles(fixture))).toEqual([
      { file: 'README.md', line: 4, target: 'docs/b.md', reason: 'no such file' },
      { file: 'README.md', line: 4, target: 'docs/a.md#twice-2', reason: 'no heading #twice-2' },
      { file: 'README.md', line: 5, target: '#nothing', reason: 'no heading #nothing' },
    ]);
  });

  it('gives headings the anchors GitHub gives them', () => {
    const anchors = headingAnchors(
      '# Testing without a broker: `nest-mqtt-async/testing`\n## RPC on MQTT 5 and on 3.1.1\n```\n# not a heading\n```\n',
    );
    expect([...anchors]).toEqual(['testing-without-a-broker-nest-mqtt-asynctesting', 'rpc-on-mqtt-5-and-on-311']);
  });
});
