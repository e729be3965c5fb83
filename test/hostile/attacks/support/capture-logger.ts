import type { LoggerService } from '@nestjs/common';

/** A Nest LoggerService that keeps every line, for asserting on what an attack makes the service log. */
export class CaptureLogger implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(message: unknown) {
    this.lines.push({ level: 'log', message: String(message) });
  }
  error(message: unknown) {
    this.lines.push({ level: 'error', message: String(message) });
  }
  warn(message: unknown) {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  debug(message: unknown) {
    this.lines.push({ level: 'debug', message: String(message) });
  }
  verbose(message: unknown) {
    this.lines.push({ level: 'verbose', message: String(message) });
  }
  fatal(message: unknown) {
    this.lines.push({ level: 'fatal', message: String(message) });
  }
  of(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
  all(): string {
    return this.lines.map((l) => l.message).join('\n');
  }
}
