/**
 * The one locator for external programs (binaries.mjs): PATH first, then the sbin directories; HIDE_BROKERS and
 * HIDE_BINARIES hide programs; the command line form used by .ci/run. Each case runs the locator in a child node
 * with its own environment (the module reads the environment once, when loaded).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const LOCATOR = resolve('test/support/binaries.mjs');
const fakeDir = mkdtempSync(join(tmpdir(), 'fake-bin-'));
for (const name of ['mosquitto', 'openssl']) {
  writeFileSync(join(fakeDir, name), '#!/bin/sh\nexit 0\n');
  chmodSync(join(fakeDir, name), 0o755);
}
writeFileSync(join(fakeDir, 'mosquitto_rr'), 'not executable');

function locate(names: string[], env: NodeJS.ProcessEnv): { code: number | null; paths: string[] } {
  const result = spawnSync(process.execPath, [LOCATOR, ...names], {
    encoding: 'utf8',
    env: { PATH: `${fakeDir}:${process.env.PATH}`, ...env },
  });
  return { code: result.status, paths: result.stdout.split('\n').filter(Boolean) };
}

afterAll(() => rmSync(fakeDir, { recursive: true, force: true }));

describe('test/support/binaries.mjs', () => {
  it('finds a program on PATH before the sbin directories', () => {
    expect(locate(['mosquitto', 'openssl'], {})).toEqual({
      code: 0,
      paths: [join(fakeDir, 'mosquitto'), join(fakeDir, 'openssl')],
    });
  });

  it('skips a file on PATH that is not executable', () => {
    const { paths } = locate(['mosquitto_rr'], {});
    expect(paths).not.toContain(join(fakeDir, 'mosquitto_rr'));
  });

  it('HIDE_BROKERS=1 hides mosquitto and its tools (exit 1, nothing printed) but not openssl', () => {
    expect(locate(['mosquitto'], { HIDE_BROKERS: '1' })).toEqual({ code: 1, paths: [] });
    expect(locate(['openssl'], { HIDE_BROKERS: '1' })).toEqual({ code: 0, paths: [join(fakeDir, 'openssl')] });
  });

  it('HIDE_BROKERS=1 hides rabbitmq-server too', () => {
    writeFileSync(join(fakeDir, 'rabbitmq-server'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(fakeDir, 'rabbitmq-server'), 0o755);
    expect(locate(['rabbitmq-server'], {})).toEqual({ code: 0, paths: [join(fakeDir, 'rabbitmq-server')] });
    expect(locate(['rabbitmq-server'], { HIDE_BROKERS: '1' })).toEqual({ code: 1, paths: [] });
  });

  it('HIDE_BINARIES hides the listed names only', () => {
    expect(locate(['openssl'], { HIDE_BINARIES: 'chromium,openssl' })).toEqual({ code: 1, paths: [] });
    expect(locate(['mosquitto'], { HIDE_BINARIES: 'chromium,openssl' }).code).toBe(0);
  });

  it('an unknown program is absent (exit 1)', () => {
    expect(locate(['no-such-program-here'], {})).toEqual({ code: 1, paths: [] });
  });
});
