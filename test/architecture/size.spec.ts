import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { libFiles } from './imports.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
/** CONTRIBUTING "Style": files under 400 lines (a file that grows past it has two concerns; split it). */
const MAX_LINES = 400;

function oversized(files: Array<{ file: string; source: string }>, max = MAX_LINES): string[] {
  return files.flatMap(({ file, source }) => {
    const lines = source.split('\n').length - 1;
    return lines > max ? [`${file}: ${lines} lines`] : [];
  });
}

describe('size of lib/ files', () => {
  it(`every file has at most ${MAX_LINES} lines`, () => {
    const files = libFiles(ROOT);
    expect(files.length).toBeGreaterThan(100);
    expect(oversized(files)).toEqual([]);
  });

  it('reports a file over the limit (the check can fail)', () => {
    const file = 'test/architecture/imports.spec.ts';
    expect(oversized([{ file, source: readFileSync(resolve(ROOT, file), 'utf8') }], 10)).toHaveLength(1);
  });
});
