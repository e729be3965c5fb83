// @ts-check
/**
 * Mutation testing (StrykerJS) — `npm run mutate -- <scope>` (or MUTATE_SCOPE=<scope>), one scope per run.
 * Not part of `npm test` or .ci/run: a run takes minutes. See docs/mutation.md for the scores and how to read them.
 *
 * Each scope mutates one area and runs only the spec files that exercise it (a mutant is then run against the
 * tests that covered it: coverageAnalysis 'perTest'). Specs needing mosquitto/RabbitMQ skip themselves
 * (HIDE_BROKERS=1, set by scripts/mutate.mjs): a run does not start brokers, and the scores count what the
 * in-memory broker, the scripted fake broker and unit tests catch.
 */

/** @type {Record<string, { mutate: string[]; specs: string[] }>} */
export const SCOPES = {
  session: {
    mutate: ['lib/driver/session/**/*.ts'],
    specs: [
      'test/driver/unit/session.spec.ts',
      'test/driver/unit/outbound.spec.ts',
      'test/driver/integration/acks-wire.spec.ts',
      'test/driver/integration/inbound-acks-wire.spec.ts',
      'test/driver/integration/resume-wire.spec.ts',
      'test/hostile/flow.spec.ts',
    ],
  },
  router: {
    // Globs, so that the driver's router survives renames (router.ts became message-router.ts) or a split folder.
    mutate: ['lib/driver/*router.ts', 'lib/driver/*router/**/*.ts'],
    specs: [
      'test/driver/unit/message-router.spec.ts',
      'test/driver/unit/message-router-subscribe.spec.ts',
      'test/driver/unit/message-router-session.spec.ts',
      'test/driver/unit/subscription-table.spec.ts',
      'test/driver/integration/conformance.spec.ts',
      'test/driver/integration/conformance-session.spec.ts',
      'test/driver/integration/broker-quirks.spec.ts',
      'test/driver/integration/server-limits.spec.ts',
      'test/driver/integration/acks-wire.spec.ts',
      'test/driver/integration/resume-wire.spec.ts',
      'test/driver/integration/status.spec.ts',
    ],
  },
  server: {
    mutate: ['lib/nest/server/**/*.ts'],
    specs: [
      'test/nest/server/*.spec.ts',
      'test/nest/client/reply-order.spec.ts',
      'test/nest/scenarios/memory.spec.ts',
      'test/testing/*.spec.ts',
    ],
  },
  routing: {
    mutate: ['lib/nest/routing/**/*.ts'],
    specs: [
      'test/nest/server/routing.spec.ts',
      'test/nest/server/routing-options.spec.ts',
      'test/nest/server/handler-options.spec.ts',
      'test/nest/server/retry.spec.ts',
    ],
  },
};

const scope = process.env.MUTATE_SCOPE ?? '';
const chosen = SCOPES[scope];
if (!chosen) {
  throw new Error(`MUTATE_SCOPE must be one of ${Object.keys(SCOPES).join(', ')} (got '${scope}')`);
}

// MUTATE_SPECS=a.spec.ts,b.spec.ts narrows a targeted run (`--mutate <file>`) to the specs of that file.
const specs = process.env.MUTATE_SPECS ? process.env.MUTATE_SPECS.split(',') : chosen.specs;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  // Jest runs ts-jest in ESM mode: the test runner's Node needs the same flag as `npm test`.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    config: {
      testMatch: specs.map((s) => `<rootDir>/${s}`),
      reporters: ['default'],
      maxWorkers: 1,
    },
    enableFindRelatedTests: false,
  },
  // Error-message texts: a changed message is not a behaviour hole worth a test each (the docs say so).
  mutator: { excludedMutations: ['StringLiteral'] },
  coverageAnalysis: 'perTest',
  mutate: chosen.mutate,
  // The machine is shared (2 cores, several jobs): one test runner unless MUTATE_CONCURRENCY says more. Under
  // load a mutant's tests take several times their dry-run time: a generous factor keeps slow-but-passing runs
  // out of "Timeout" (which counts as detected and would flatter the score). Timeouts are reported separately.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 10_000,
  timeoutFactor: 3,
  incremental: true,
  incrementalFile: `reports/mutation/${scope}/incremental.json`,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${scope}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${scope}/report.json` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
