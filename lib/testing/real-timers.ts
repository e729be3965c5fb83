/**
 * Timer functions as they were when this module loaded, so a test that calls `jest.useFakeTimers()` (or sinon's)
 * cannot stall `publish()`, `request()` or `waitFor()`: their waits and guards keep running on real time.
 */
export const realTimers = {
  setTimeout: globalThis.setTimeout.bind(globalThis),
  clearTimeout: globalThis.clearTimeout.bind(globalThis),
  setImmediate: globalThis.setImmediate.bind(globalThis),
};
