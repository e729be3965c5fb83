import type { CodeBlock } from './blocks.js';

/** One line of a README shell block: the command as words, and what its trailing `# comment` says. */
export interface ShellCommand {
  /** 1-based line in the Markdown file. */
  line: number;
  source: string;
  argv: string[];
  comment: string;
}

/**
 * Splits a command into words as a shell would, for the subset the README uses: plain words and single-quoted
 * strings. Anything that needs a real shell (pipes, variables, double quotes, globs…) throws, so a README
 * command the tests cannot run faithfully is reported instead of being run differently.
 */
export function shellWords(command: string): string[] {
  const unquoted = command.replace(/'[^']*'/g, "''");
  if (/[|&;<>()$`\\"*?]/.test(unquoted)) throw new Error(`needs a shell: ${command}`);
  return [...command.matchAll(/(?:'[^']*'|[^\s'])+/g)].map((m) => m[0].replace(/'([^']*)'/g, '$1'));
}

/** The non-empty lines of a shell block as commands; a comment starts at `#` after whitespace. */
export function shellCommands(block: CodeBlock): ShellCommand[] {
  return block.code.split('\n').flatMap((text, i) => {
    const [source = '', ...rest] = text.split(/\s+#\s*/);
    if (source.trim() === '' || source.trimStart().startsWith('#')) return [];
    return [{ line: block.line + 1 + i, source: source.trim(), argv: shellWords(source), comment: rest.join(' # ') }];
  });
}
