import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
const DIR = join(ROOT, 'test/interop/nest-idioms');

/** The rows of docs/migration.md's idiom table ("Built-in idiom | With nest-mqtt-async | Checked by"). */
function idiomRows(): Array<{ idiom: string; checkedBy: string[] }> {
  const lines = readFileSync(join(ROOT, 'docs/migration.md'), 'utf8').split('\n');
  // Cells compared trimmed: a Markdown formatter pads them to the column width.
  const cellsOf = (line: string) => line.split(/(?<!\\)\|/).map((c) => c.trim());
  const header = lines.findIndex(
    (l) => cellsOf(l)[1]?.startsWith('Built-in idiom') && cellsOf(l).includes('Checked by'),
  );
  expect(header).toBeGreaterThan(0);
  const rows: Array<{ idiom: string; checkedBy: string[] }> = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const checked = cells.at(-2) ?? '';
    rows.push({ idiom: cells[1] ?? '', checkedBy: [...checked.matchAll(/`([\w.-]+\.ts)`/g)].map((m) => m[1]!) });
  }
  return rows;
}

describe('docs/migration.md: the idiom table is checked by these specs', () => {
  it('names, on every row, specs of test/interop/nest-idioms that exist', () => {
    const files = new Set(readdirSync(DIR));
    const rows = idiomRows();
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) {
      expect({ idiom: row.idiom, checked: row.checkedBy.length > 0 }).toEqual({ idiom: row.idiom, checked: true });
      for (const file of row.checkedBy)
        expect({ idiom: row.idiom, file, exists: files.has(file) }).toMatchObject({ exists: true });
    }
  });

  it('lists every idiom spec of the directory', () => {
    const named = new Set(idiomRows().flatMap((r) => r.checkedBy));
    const specs = readdirSync(DIR).filter((f) => f.endsWith('.spec.ts') && f !== 'docs.spec.ts');
    for (const spec of specs) expect({ spec, inTable: named.has(spec) }).toEqual({ spec, inTable: true });
  });
});
