import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

/** Where the package's public entry points live in the sources. */
const PACKAGE_PATHS: Record<string, string[]> = {
  'nest-mqtt-async': ['lib/nest/index.ts'],
  'nest-mqtt-async/driver': ['lib/driver/index.ts'],
  'nest-mqtt-async/codec': ['lib/driver/codec/index.ts'],
  'nest-mqtt-async/testing': ['lib/testing/index.ts'],
};

/**
 * Typechecks code blocks as separate ES modules inside the repo (so node_modules resolve), with the package
 * names mapped to lib/. Returns the diagnostics of the blocks themselves, formatted, per block index.
 */
export function typecheckBlocks(sources: string[], label: (i: number) => string): string[] {
  const dir = join(ROOT, '.tmp', `readme-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  try {
    const files = sources.map((code, i) => {
      const file = join(dir, `block-${i}.ts`);
      writeFileSync(file, code.includes('import ') || code.includes('export ') ? code : `${code}\nexport {};\n`);
      return file;
    });
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts', 'lib.dom.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node', 'jest'],
      baseUrl: ROOT,
      paths: PACKAGE_PATHS,
    };
    const program = ts.createProgram(files, options);
    const mine = new Set(files);
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => '\n',
    };
    return ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && mine.has(d.file.fileName))
      .map((d) => {
        const index = files.indexOf((d.file as ts.SourceFile).fileName);
        return `${label(index)}: ${ts.formatDiagnostic(d, host).trim()}`;
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
