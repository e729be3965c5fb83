import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One import (static, `export … from` or `import()`) of a source file. */
export interface ImportRef {
  specifier: string;
  /** `import type` / `export type`, or every named binding marked `type`: erased from the output. */
  typeOnly: boolean;
  /** `import('x')`: loaded lazily, at run time. */
  dynamic: boolean;
  /** The value names it binds (`import { a, type B }` → `['a']`); undefined for a namespace or side-effect import. */
  values?: string[];
}

/** The imports of a TypeScript source. */
export function importsOf(source: string): ImportRef[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, true);
  const out: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings : undefined;
      const values = named?.elements
        .filter((e) => !e.isTypeOnly && !clause?.isTypeOnly)
        .map((e) => (e.propertyName ?? e.name).text);
      const typeOnly = clause?.isTypeOnly === true || (named !== undefined && !clause?.name && values?.length === 0);
      out.push({
        specifier: node.moduleSpecifier.text,
        typeOnly,
        dynamic: false,
        values: clause?.name ? [...(values ?? []), 'default'] : values,
      });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause : undefined;
      const values = named?.elements
        .filter((e) => !e.isTypeOnly && !node.isTypeOnly)
        .map((e) => (e.propertyName ?? e.name).text);
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false, values });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false, dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** Every `.ts` file under `dir`, relative to `root`, with `/` separators. */
export function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`.split('\\').join('/'))
    .sort();
}

/** The value (non-type) names the codec exports: what "encoding or decoding a packet" means in import terms. */
export function codecValueNames(root: string): Set<string> {
  const entry = join(root, 'lib/driver/codec/index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile) as ts.Symbol;
  const names = new Set<string>();
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    if (target.flags & ts.SymbolFlags.Value) names.add(symbol.name);
  }
  return names;
}

/** Packages the Nest layer and the testing entry may import statically: Nest's own peers and Node built-ins. */
const NEST_PEERS = ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', 'rxjs', 'reflect-metadata'];

const packageName = (s: string) =>
  s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] as string);

/** What the layering rules of docs/architecture.md say about one import of `file` (paths relative to the root). */
function check(file: string, ref: ImportRef, codecValues: Set<string>, peers: Set<string>): string | undefined {
  const s = ref.specifier;
  const layer = file.startsWith('lib/driver/codec/')
    ? 'codec'
    : file.startsWith('lib/driver/')
      ? 'driver'
      : file.startsWith('lib/nest/')
        ? 'nest'
        : 'testing';
  if (!s.startsWith('.')) {
    if (layer === 'codec') return `the codec imports nothing outside itself (${s})`;
    if (s.startsWith('node:')) return undefined;
    if (layer === 'driver') return `the driver has no dependencies and never imports Nest or rxjs (${s})`;
    if (ref.typeOnly) return undefined;
    if (ref.dynamic) return peers.has(packageName(s)) ? undefined : `import() of an undeclared package (${s})`;
    return NEST_PEERS.includes(packageName(s))
      ? undefined
      : `a static import of an optional package: use import() (${s})`;
  }
  const target = relative('.', join(dirname(file), s))
    .split('\\')
    .join('/');
  const inside = (dir: string) => target.startsWith(`${dir}/`) || target === dir;
  if (layer === 'codec') {
    return inside('lib/driver/codec') || target === 'lib/driver/errors.js'
      ? undefined
      : `the codec imports only codec files and lib/driver/errors (${target})`;
  }
  if (layer === 'driver') return inside('lib/driver') ? undefined : `the driver imports only lib/driver (${target})`;
  if (layer === 'nest' && inside('lib/testing')) return `the Nest layer never imports lib/testing (${target})`;
  if (inside('lib/driver/codec')) return `the ${layer} layer never imports the codec (${target})`;
  const codecUsed = inside('lib/driver') && !ref.typeOnly ? (ref.values ?? []).filter((v) => codecValues.has(v)) : [];
  if (codecUsed.length > 0) return `the ${layer} layer never encodes or decodes packets (${codecUsed.join(', ')})`;
  return undefined;
}

/** Every import of `files` (relative to `root`) that breaks the layering rules, as `file: why`. */
export function layeringViolations(
  files: Array<{ file: string; source: string }>,
  codecValues: Set<string>,
  peers: Set<string>,
): string[] {
  return files.flatMap(({ file, source }) =>
    importsOf(source).flatMap((ref) => {
      const why = check(file, ref, codecValues, peers);
      return why ? [`${file}: ${why}`] : [];
    }),
  );
}

/** The repository's lib/ files with their sources. */
export function libFiles(root: string): Array<{ file: string; source: string }> {
  return ['lib/driver', 'lib/nest', 'lib/testing'].flatMap((dir) =>
    sourceFiles(root, dir).map((file) => ({ file, source: readFileSync(resolve(root, file), 'utf8') })),
  );
}
