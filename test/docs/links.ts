import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** A relative link of a Markdown file that does not lead anywhere. */
export interface BrokenLink {
  /** The Markdown file, relative to the root given to {@link brokenLinks}. */
  file: string;
  /** 1-based line of the link. */
  line: number;
  target: string;
  reason: string;
}

/** The Markdown files the project documents itself with: README.md, CONTRIBUTING.md and docs/*.md. */
export function documentationFiles(root: string): string[] {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ['README.md', 'CONTRIBUTING.md', ...docs].filter((f) => existsSync(join(root, f)));
}

/** The lines of a Markdown file outside fenced code blocks, with inline code spans blanked out. */
function proseLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fenced = false;
  text.split('\n').forEach((raw, i) => {
    if (raw.startsWith('```')) fenced = !fenced;
    else if (!fenced) out.push({ line: i + 1, text: raw.replace(/`[^`]*`/g, (m) => (m.length > 2 ? '``' : m)) });
  });
  return out;
}

/**
 * The anchors GitHub gives a file's headings: lower case, punctuation removed (backticks, dots, colons, slashes…),
 * each space a hyphen; a repeated heading gets `-1`, `-2`… (github-slugger's rules).
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const raw of text.split('\n')) {
    if (raw.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (!heading) continue;
    const words = (heading[1] as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = words
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** What is wrong with one link target of `file` (absolute path), or undefined when it resolves. */
function checkTarget(file: string, target: string): string | undefined {
  const [path = '', anchor] = target.split('#') as [string, string | undefined];
  const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
  if (!existsSync(resolved)) return 'no such file';
  if (anchor === undefined || anchor === '') return undefined;
  if (!resolved.endsWith('.md') || statSync(resolved).isDirectory())
    return 'an anchor into a file that is not Markdown';
  return headingAnchors(readFileSync(resolved, 'utf8')).has(anchor) ? undefined : `no heading #${anchor}`;
}

/**
 * Every relative link (`[text](path)`, `[text](path#anchor)`, `[text](#anchor)`) of the given Markdown files
 * (paths relative to `root`) that names a missing file or a heading the target file does not have. Links with a
 * scheme (`https:`, `mailto:`) are not followed.
 */
export function brokenLinks(root: string, files: string[]): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const name of files) {
    const file = join(root, name);
    for (const { line, text } of proseLines(readFileSync(file, 'utf8'))) {
      for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1] as string;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const reason = checkTarget(file, target);
        if (reason) broken.push({ file: relative(root, file), line, target, reason });
      }
    }
  }
  return broken;
}

/** A repository path named in inline code (`lib/driver/client.ts`) that does not exist. */
export interface MissingPath {
  file: string;
  line: number;
  path: string;
}

/**
 * Every repository path a Markdown file names in inline code — `lib/…`, `test/…`, `bench/…`, `sample/…`, `docs/…`,
 * `scripts/…`, `.ci/…`, written plainly (no `*`, `<…>` or `{…}`) — that does not exist, so a file moved or renamed
 * in the code cannot leave the documentation pointing at nothing.
 */
export function missingPaths(root: string, files: string[]): MissingPath[] {
  const missing: MissingPath[] = [];
  for (const name of files) {
    let fenced = false;
    readFileSync(join(root, name), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (text.startsWith('```')) fenced = !fenced;
        if (fenced) return;
        for (const m of text.matchAll(/`((?:lib|test|bench|sample|docs|scripts|\.ci)\/[\w./-]+)`/g)) {
          const path = m[1] as string;
          if (!existsSync(join(root, path))) missing.push({ file: name, line: i + 1, path });
        }
      });
  }
  return missing;
}
