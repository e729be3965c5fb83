/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // Consumer fixtures run in their own apps and runners (test/consumers/run.sh).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/consumers/'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  // Under REQUIRE_BROKERS=1 (CI) a skipped test fails the run: see the reporter.
  reporters: ['default', '<rootDir>/test/support/require-brokers-reporter.mjs'],
  testTimeout: 30000,
  maxWorkers: 2,
};
