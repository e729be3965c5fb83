/**
 * Jest reporter: under REQUIRE_BROKERS=1 (set by .ci/run) a skipped test fails the run. Every skip in this suite
 * means a missing program (mosquitto, its clients, openssl, chromium; see binaries.mjs), and CI installs them all,
 * so a skip there is a broken install or a locator that looks in the wrong place, never a pass.
 * Runs filtered with -t / --testNamePattern skip what they filter out, so the check is off for them. A test
 * whose title says "(expected skip)" is exempt (the fallback's own test registers skipped tests on purpose).
 */
import { binariesRequired } from './binaries.mjs';

export default class RequireBrokersReporter {
  #error;
  #active;

  constructor(globalConfig) {
    this.#active = binariesRequired && !globalConfig.testNamePattern;
  }

  onRunComplete(_contexts, results) {
    if (!this.#active) return;
    const skipped = [];
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        const skippedStatus = test.status === 'pending' || test.status === 'skipped' || test.status === 'todo';
        if (skippedStatus && !test.title.includes('(expected skip)')) {
          skipped.push(`${file.testFilePath.replace(`${process.cwd()}/`, '')}: ${test.fullName}`);
        }
      }
    }
    if (skipped.length === 0) return;
    const shown = skipped.slice(0, 20).map((s) => `  - ${s}`);
    if (skipped.length > 20) shown.push(`  … and ${skipped.length - 20} more`);
    const message = `REQUIRE_BROKERS=1: ${skipped.length} test(s) skipped; a program they need is missing (see the SKIPPED notices):\n${shown.join('\n')}`;
    console.error(`\n${message}\n`);
    this.#error = new Error(message);
  }

  getLastError() {
    return this.#error;
  }
}
