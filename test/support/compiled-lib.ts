import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

/**
 * Compiles lib/ as it is now (not a possibly stale dist/) into a fresh folder under `.tmp/` inside the project, so
 * a child process can import it and its bare imports resolve from node_modules. Returns the folder; the caller
 * removes it. Type errors (tsc exits 2 and lists them on stdout) still emit JavaScript; anything else fails.
 */
export async function compileLibForChild(name: string): Promise<string> {
  const dir = join(ROOT, '.tmp', `${name}-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  await new Promise<void>((done, fail) =>
    execFile(
      join(ROOT, 'node_modules/.bin/tsc'),
      ['-p', 'tsconfig.build.json', '--outDir', dir, '--declaration', 'false', '--sourceMap', 'false'],
      { cwd: ROOT, timeout: 120_000 },
      (err, stdout) => (err && !stdout.includes('error TS') ? fail(err) : done()),
    ),
  );
  return dir;
}
