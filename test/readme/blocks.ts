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
