import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { eventually as until } from '../support/eventually.js';

export { until };

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters.
const ANSI = /\u001b\[[0-9;]*m/g;

/** How a child process ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the kill signal to the exit. */
  ms: number;
}

/** A long-running child process whose stdout and stderr (ANSI colours removed) the test reads as it grows. */
export class WatchedProcess {
  readonly child: ChildProcess;
  private text = '';
  private readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => {
      this.text += chunk.toString().replace(ANSI, '');
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.exited = once(this.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  }

  get output(): string {
    return this.text;
  }

  /** How many times `pattern` occurs in the output so far. */
  count(pattern: string): number {
    return this.text.split(pattern).length - 1;
  }

  /**
   * Resolves with the first match of `pattern` in the output after offset `since`; rejects (showing the output)
   * after `timeoutMs` or when the process exits first.
   */
  async waitFor(pattern: RegExp, { timeoutMs = 10_000, since = 0 } = {}): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.text.slice(since));
      if (match) return match;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        const why = this.child.exitCode !== null ? `exited with ${this.child.exitCode}` : `not within ${timeoutMs} ms`;
        throw new Error(`${pattern} ${why}; output:\n${this.text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILLs after `graceMs` so a hung child never outlives the test. */
  async stop(signal: NodeJS.Signals, graceMs = 5000): Promise<ChildExit> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return { code: this.child.exitCode, signal: this.child.signalCode, ms: 0 };
    }
    const start = Date.now();
    const force = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.child.kill(signal);
    const [code, exitSignal] = await this.exited;
    clearTimeout(force);
    return { code, signal: exitSignal, ms: Date.now() - start };
  }
}

/** Runs a command to its end (no shell); resolves with its exit code and output, killed after `timeoutMs`. */
export function run(
  command: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}
