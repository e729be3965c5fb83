#!/usr/bin/env node
/**
 * `npm run build` (also run by `prepack`): the package's two builds, plain `tsc` twice.
 *
 *   dist/        ESM  (tsconfig.build.json: module nodenext; type-checked)           ← `import`
 *   dist/cjs/    CJS  (tsconfig.cjs.json: module commonjs, node10; same sources)      ← `require`, node10 types
 *
 * Why plain tsc: the package has no bundling needs (no CSS, no JSON imports, three entry points that map 1:1 to
 * directories), the driver must stay dependency-free, and tsc is the one tool that emits both the code and the
 * `.d.ts` files each format needs, with the same semantics as the typecheck. A bundler would add a dev dependency
 * and a second opinion on decorators and `emitDecoratorMetadata`, which Nest depends on. The CJS pass skips type
 * checking (`--noCheck`): the ESM pass already checked the same sources.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = (...args) => execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
run('-p', 'tsconfig.build.json');
run('-p', 'tsconfig.cjs.json', '--noCheck');
// Files under dist/cjs are CommonJS although the package says "type": "module".
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
