/**
 * Error taxonomy: every error this package hands out shares one base (`MqttError`; the Nest layer's also share
 * `MqttAsyncError`), so `err instanceof MqttError` catches them all. Checked on what the entries export and on the
 * sources: a bare `new Error(...)` in lib/ is only allowed where it never reaches a user as such.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { RpcException } from '@nestjs/microservices';
import * as codec from '../../lib/driver/codec/index.js';
import * as driver from '../../lib/driver/index.js';
import * as nest from '../../lib/nest/index.js';
import * as testing from '../../lib/testing/index.js';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

/**
 * Files that may build plain errors: WebSocket stream errors mirror a socket's (the Connection reports them as the
 * cause of an MqttDisconnectedError / MqttConnectError, connectErrorFrom wraps non-errors), and telemetry turns a
 * thrown non-Error into an Error only to record it on a span.
 */
const PLAIN_ERRORS_ALLOWED = new Set([
  'lib/driver/transport/websocket.ts',
  'lib/driver/transport/errors.ts',
  'lib/nest/telemetry/telemetry.ts',
]);

function errorClasses(entry: Record<string, unknown>): Array<[string, new (...a: never[]) => Error]> {
  return Object.entries(entry).filter(
    (e): e is [string, new (...a: never[]) => Error] =>
      typeof e[1] === 'function' &&
      e[0].endsWith('Error') &&
      e[1].prototype instanceof Error &&
      // Handlers throw these (MqttAsyncNonRetryableError): they must be RpcExceptions for Nest's filters.
      !(e[1].prototype instanceof RpcException),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** `file:line` of every `new Error(`-like construction (bare built-in error classes) in `files`. */
function plainErrors(files: string[]): string[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) =>
        /\bnew (Error|RangeError|TypeError|SyntaxError)\(/.test(line) && !line.trim().startsWith('//')
          ? [`${relative(ROOT, file)}:${i + 1}`]
          : [],
      ),
  );
}

describe('error taxonomy', () => {
  it('every exported error class extends MqttError; the Nest layer and testing ones extend MqttAsyncError', () => {
    const all = [...errorClasses(driver), ...errorClasses(codec), ...errorClasses(nest), ...errorClasses(testing)];
    expect(all.length).toBeGreaterThan(15);
    for (const [name, cls] of all)
      expect([name, cls.prototype instanceof driver.MqttError || name === 'MqttError']).toEqual([name, true]);
    for (const [name, cls] of [...errorClasses(nest), ...errorClasses(testing)]) {
      expect([name, cls === nest.MqttAsyncError || cls.prototype instanceof nest.MqttAsyncError]).toEqual([name, true]);
    }
  });

  it('lib/ builds no bare Error / RangeError / TypeError outside the allowed files', () => {
    const found = plainErrors(sourceFiles(join(ROOT, 'lib'))).filter(
      (at) => !PLAIN_ERRORS_ALLOWED.has(at.split(':')[0]!),
    );
    expect(found).toEqual([]);
  });

  it('the source check finds a bare error (it can fail)', () => {
    expect(plainErrors([join(ROOT, 'test/api/errors.spec.ts')]).length).toBeGreaterThan(0);
  });
});
