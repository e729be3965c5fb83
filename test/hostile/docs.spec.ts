import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { codeBlocks } from '../readme/blocks.js';
import { typecheckBlocks } from '../readme/typecheck.js';

const FILE = join(
  resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..'),
  'docs/sections/hardening.md',
);

describe('docs/sections/hardening.md', () => {
  it('every TypeScript block compiles against the package exports', () => {
    const blocks = codeBlocks(FILE).filter((b) => b.lang === 'ts');
    expect(blocks.length).toBe(1);
    const errors = typecheckBlocks(
      blocks.map((b) => b.code),
      (i) => `hardening.md block at line ${blocks[i]?.line}`,
    );
    expect(errors).toEqual([]);
  });
});
