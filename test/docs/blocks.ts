import { readFileSync } from 'node:fs';

/** A fenced code block of a Markdown file. */
export interface CodeBlock {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Directives from an HTML comment right above the fence: `<!-- readme-test: run -->`. */
  directives: string[];
}

/** Every fenced block (```lang … ```) of a Markdown file. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] as string).startsWith('```'); i++) body.push(lines[i] as string);
    const above = lines[start - 1] ?? '';
    const directive = /<!--\s*readme-test:\s*([^>]*?)\s*-->/.exec(above);
    blocks.push({
      lang: open[1] ?? '',
      code: `${body.join('\n')}\n`,
      line: start + 1,
      directives: directive ? (directive[1] as string).split(/\s+/) : [],
    });
  }
  return blocks;
}

/** npm scripts (`npm run x`, `npm start`, `npm test`) and node scripts (`node path.mjs`) a shell block invokes. */
export function shellInvocations(code: string): { scripts: string[]; files: string[] } {
  const scripts: string[] = [];
  const files: string[] = [];
  for (const raw of code.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    for (const m of line.matchAll(/\bnpm\s+(?:run(?:-script)?\s+([\w:.-]+)|(start|test))\b/g)) {
      scripts.push((m[1] ?? m[2]) as string);
    }
    for (const m of line.matchAll(/\bnode\s+(?:--[\w-]+(?:=\S+)?\s+)*([\w./-]+\.(?:mjs|js))/g))
      files.push(m[1] as string);
  }
  return { scripts, files };
}

/**
 * What a runnable block prints, stated in the documentation: the next block of the same file when it is marked
 * `<!-- readme-test: output -->` (a ```text block right after the example).
 */
export function statedOutput<B extends CodeBlock & { file: string }>(blocks: B[], block: B): B | undefined {
  const next = blocks[blocks.indexOf(block) + 1];
  return next && next.file === block.file && next.directives.includes('output') ? next : undefined;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether `printed` is the stated output: the same lines (trailing blank lines aside), where `…` in the stated
 * output stands for any text within its line (a measured time, an id).
 */
export function matchesOutput(stated: string, printed: string): boolean {
  const pattern = stated.trimEnd().split('…').map(escapeRegExp).join('[^\\n]*?');
  return new RegExp(`^${pattern}$`).test(printed.trimEnd());
}
