import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { formatApi, publicApi } from './public-api.js';

const SNAPSHOT = new URL('./public-api.txt', import.meta.url);

describe('public API', () => {
  it('matches the reviewed surface in test/api/public-api.txt (UPDATE_API=1 to accept a deliberate change)', () => {
    const actual = formatApi(publicApi());
    if (process.env.UPDATE_API === '1') writeFileSync(SNAPSHOT, actual);
    expect(actual).toBe(readFileSync(SNAPSHOT, 'utf8'));
  }, 120_000);

  it('sees a changed surface (the check can fail)', () => {
    const api = publicApi({ probe: 'test/api/fixtures/probe.ts' });
    expect(api.get('probe')).toEqual([
      'PROBE: const',
      'Probe: class',
      'ProbeOptions: interface',
      'internal: const',
      'probe: function',
    ]);
  }, 120_000);
});
