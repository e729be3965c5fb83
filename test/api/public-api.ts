/**
 * The package's public surface, read with the TypeScript compiler from the entry points (what a user can import,
 * types included), as `name: kind` lines per entry. `public-api.spec.ts` compares it with `public-api.txt`, so a
 * change to the surface is a visible, reviewed decision; `UPDATE_API=1 npm test -- test/api` rewrites the file.
 */
import ts from 'typescript';

/** The package's subpaths and the source file each one maps to (package.json `exports`). */
export const ENTRIES: Record<string, string> = {
  'nest-mqtt-async': 'lib/nest/index.ts',
  'nest-mqtt-async/driver': 'lib/driver/index.ts',
  'nest-mqtt-async/codec': 'lib/driver/codec/index.ts',
  'nest-mqtt-async/testing': 'lib/testing/index.ts',
};

function kindOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const s = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const f = s.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Variable) return 'const';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Namespace) return 'namespace';
  return `flags:${f}`;
}

/** `entry → sorted 'name: kind' lines` for every entry point. */
export function publicApi(entries: Record<string, string> = ENTRIES): Map<string, string[]> {
  const files = Object.values(entries);
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const out = new Map<string, string[]>();
  for (const [entry, file] of Object.entries(entries)) {
    const source = program.getSourceFile(file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`cannot read the exports of ${file}`);
    const lines = checker.getExportsOfModule(moduleSymbol).map((s) => `${s.getName()}: ${kindOf(s, checker)}`);
    out.set(entry, lines.sort());
  }
  return out;
}

/** The text form committed in `public-api.txt`. */
export function formatApi(api: Map<string, string[]>): string {
  return [...api].map(([entry, lines]) => `# ${entry} (${lines.length})\n${lines.join('\n')}\n`).join('\n');
}
