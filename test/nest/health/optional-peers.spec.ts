/**
 * `@nestjs/terminus` and `@opentelemetry/*` are optional peers: no file of lib/ may import them statically
 * (type-only imports are erased), so importing any entry point works without them installed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const OPTIONAL = /^\s*import\s+(?!type\b)[^;]*?from\s+['"](@nestjs\/terminus|@opentelemetry\/[^'"]+)['"]/m;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('optional peers', () => {
  it('are never imported statically by lib/ (loaded lazily, when present)', () => {
    const offenders = sources('lib').filter((file) =>
      readFileSync(file, 'utf8')
        .split(/(?=^import\s)/m)
        .some((statement) => OPTIONAL.test(statement)),
    );
    expect(offenders).toEqual([]);
  });

  it("the OpenTelemetry SDK and exporters are the sample's dev dependencies: lib/ never names them, not even lazily", () => {
    const sdk = /@opentelemetry\/(sdk-|exporter-|auto-instrumentations)/;
    expect(sources('lib').filter((file) => sdk.test(readFileSync(file, 'utf8')))).toEqual([]);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, Record<string, string> | undefined>;
    const shipped = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
    expect(Object.keys(shipped).filter((name) => sdk.test(name))).toEqual([]);
    expect(pkg.devDependencies).toHaveProperty(['@opentelemetry/sdk-node']);
    expect(pkg.devDependencies).toHaveProperty(['@opentelemetry/exporter-trace-otlp-http']);
  });

  it('the check itself catches a static import', () => {
    expect(OPTIONAL.test("import { trace } from '@opentelemetry/api';")).toBe(true);
    expect(OPTIONAL.test("import { HealthIndicatorService } from '@nestjs/terminus';")).toBe(true);
    expect(OPTIONAL.test("import type { Span } from '@opentelemetry/api';")).toBe(false);
  });
});
