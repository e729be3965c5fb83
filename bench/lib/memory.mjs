/** Heap figures of the benches, the fuzzer and the soak (run node with --expose-gc, else no GC is forced). */

/**
 * `process.memoryUsage()` after two full GCs (the second collects what the first one's finalizers released).
 * @returns {NodeJS.MemoryUsage}
 */
export function memoryAfterGc() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage();
}

/**
 * Bytes in MB (2^20), one decimal.
 * @param {number} bytes
 */
export const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
