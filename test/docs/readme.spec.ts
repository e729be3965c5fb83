import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../sample/broker/embedded-broker.js';
import { type CodeBlock, codeBlocks, matchesOutput, shellInvocations, statedOutput } from './blocks.js';
import { documentationFiles } from './links.js';
import { typecheckBlocks } from './typecheck.js';

/** Examples that tests run, marked `// readme-example:start` … `// readme-example:end`, with package imports. */
function testedExamples(): Array<{ file: string; code: string }> {
  const files = readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.spec.ts'),
  );
  const found: Array<{ file: string; code: string }> = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, 'test', file), 'utf8');
    for (const m of text.matchAll(/\/\/ readme-example:start\n([\s\S]*?)\/\/ readme-example:end/g)) {
      const code = (m[1] as string)
        .replace(/'(?:\.\.\/)+lib\/nest\/index\.js'/g, "'nest-mqtt-async'")
        .replace(/'(?:\.\.\/)+lib\/(driver|testing)\/index\.js'/g, "'nest-mqtt-async/$1'");
      found.push({ file, code: code.trim() });
    }
  }
  return found;
}

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
/** README.md, CONTRIBUTING.md and docs/*.md: every block of each is checked the same way. */
const FILES = documentationFiles(ROOT);
/** A code block and the Markdown file it is in. */
type DocBlock = CodeBlock & { file: string };
const blocks: DocBlock[] = FILES.flatMap((file) => codeBlocks(join(ROOT, file)).map((b) => ({ ...b, file })));
const tsBlocks = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const shellBlocks = blocks.filter((b) => b.lang === 'bash' || b.lang === 'sh' || b.lang === 'shell');
/**
 * TypeScript examples each file must keep at least (so a page that loses its examples, or a move that drops
 * them, fails here): the README's and those of the pages that had their own compile test before the move.
 */
const MIN_TS_BLOCKS: Record<string, number> = {
  'README.md': 5,
  'docs/rpc.md': 2,
  'docs/failure-behaviour.md': 1,
  'docs/security.md': 6,
  'docs/hardening.md': 1,
  'docs/driver.md': 3,
  'docs/payloads.md': 2,
  'docs/asyncapi.md': 1,
  'docs/migration.md': 1,
  'docs/observability.md': 4,
  'docs/shared-subscriptions.md': 2,
  'docs/testing.md': 1,
  'docs/publisher.md': 5,
  'docs/retries.md': 2,
};
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;

const CONSOLE = ['log', 'info', 'warn', 'error'] as const;

/** Runs `fn` with the console captured; resolves with what it printed, one line per call, as the console formats it. */
async function printedBy(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const saved = CONSOLE.map((method) => console[method]);
  for (const method of CONSOLE) console[method] = (...args: unknown[]) => void lines.push(format(...args));
  try {
    await fn();
  } finally {
    CONSOLE.forEach((method, i) => {
      console[method] = saved[i] as (typeof console)[typeof method];
    });
  }
  return lines.map((line) => `${line}\n`).join('');
}

describe('README.md and docs/*.md', () => {
  it('README.md stays at most 400 lines: long topics belong in docs/*.md with a link', () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect({ lines, atMost400: lines <= 400 }).toEqual({ lines, atMost400: true });
  });

  it('keep their TypeScript examples', () => {
    for (const [file, min] of Object.entries(MIN_TS_BLOCKS)) {
      const count = tsBlocks.filter((b) => b.file === file).length;
      expect({ file, atLeast: min, enough: count >= min }).toEqual({ file, atLeast: min, enough: true });
    }
  });

  it('have TypeScript examples, and every one compiles against the package (a broken one is caught)', () => {
    // One program for speed: every block plus a deliberately broken one, which proves the check can fail.
    const broken = "import { ServerMqttAsync } from 'nest-mqtt-async';\nnew ServerMqttAsync({ uri: 'mqtt://x' });\n";
    const errors = typecheckBlocks([...tsBlocks.map((b) => b.code), broken], (i) =>
      i === tsBlocks.length ? 'broken' : `${tsBlocks[i]?.file} block at line ${tsBlocks[i]?.line}`,
    );
    expect(errors.filter((e) => !e.startsWith('broken'))).toEqual([]);
    expect(errors.filter((e) => e.startsWith('broken')).join('\n')).toContain("'uri' does not exist");
  }, 120_000);

  it('only name npm scripts and files that exist in their shell blocks', () => {
    expect(shellBlocks.filter((b) => b.file === 'README.md').length).toBeGreaterThan(0);
    for (const block of shellBlocks) {
      const at = `${block.file}:${block.line}`;
      const { scripts: named, files } = shellInvocations(block.code);
      for (const name of named) {
        expect({ at, script: name, exists: name in scripts }).toEqual({ at, script: name, exists: true });
      }
      for (const file of files)
        expect({ at, file, exists: existsSync(join(ROOT, file)) }).toMatchObject({ exists: true });
    }
  });

  it('show verbatim every example that a test runs (code between // readme-example:start and :end)', () => {
    const shown = new Set(tsBlocks.map((b) => b.code.trim()));
    const tested = testedExamples();
    expect(tested.length).toBeGreaterThan(0);
    for (const { file, code } of tested) expect({ file, shown: shown.has(code) }).toEqual({ file, shown: true });
  });

  it('docs/benchmarks.md shows the benchmark tables of bench/results/*.json verbatim (the tables the benches print)', () => {
    expect(readFileSync(join(ROOT, 'docs/benchmarks.md'), 'utf8')).toContain('<!-- bench:start -->');
    // Fails when results changed and `node bench/readme-tables.mjs` was not run.
    execFileSync(process.execPath, [join(ROOT, 'bench/readme-tables.mjs'), '--check'], { stdio: 'pipe' });
  });

  describe('runnable examples (marked <!-- readme-test: run -->) against the embedded broker', () => {
    const runnable = tsBlocks.filter((b) => b.directives.includes('run'));
    const dir = join(ROOT, 'test/docs/.tmp');
    let broker: EmbeddedBroker;
    const before = process.env.MQTT_URL;

    beforeAll(async () => {
      broker = await startEmbeddedBroker({ port: 0 });
      process.env.MQTT_URL = broker.url;
      mkdirSync(dir, { recursive: true });
    });

    afterAll(async () => {
      if (before === undefined) delete process.env.MQTT_URL;
      else process.env.MQTT_URL = before;
      await broker?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('there is at least one', () => {
      expect(runnable.length).toBeGreaterThan(0);
    });

    it('the output check can fail: a different line, a missing or an extra line is caught; … spans one line only', () => {
      expect(matchesOutput('6 { code: 1 }\nround trip: … ms\n', '6 { code: 1 }\nround trip: 0.4 ms\n')).toBe(true);
      expect(matchesOutput('6 { code: 1 }', '7 { code: 1 }')).toBe(false);
      expect(matchesOutput('a\nb', 'a')).toBe(false);
      expect(matchesOutput('a', 'a\nb')).toBe(false);
      expect(matchesOutput('a … c', 'a b\nb c')).toBe(false);
    });

    for (const block of runnable) {
      it(`runs the block of ${block.file} at line ${block.line}`, async () => {
        const file = join(dir, `${block.file.replace(/\W/g, '-')}-line-${block.line}.ts`);
        const code = block.code
          .replace(/from 'nest-mqtt-async\/(driver|testing)'/g, "from '../../../lib/$1/index.js'")
          .replace(/from 'nest-mqtt-async'/g, "from '../../../lib/nest/index.js'")
          // Examples written for a local broker run against the embedded one.
          .replace(/'mqtt:\/\/localhost:1883'/g, `'${broker.url}'`);
        writeFileSync(file, code);
        const stated = statedOutput(blocks, block);
        if (!stated)
          throw new Error(
            `${block.file}:${block.line}: state what it prints in a \`\`\`text block marked <!-- readme-test: output --> right after it`,
          );
        const printed = await printedBy(() => import(file));
        expect({ at: `${block.file}:${stated.line}`, printed, matches: matchesOutput(stated.code, printed) }).toEqual({
          at: `${block.file}:${stated.line}`,
          printed,
          matches: true,
        });
      }, 30_000);
    }
  });
});
