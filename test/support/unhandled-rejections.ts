import vm from 'node:vm';

/**
 * Node's own `process`. Jest hands each test file a copy whose events Node never emits, so a listener on the
 * global `process` never hears of an unhandled rejection; code run in the main context gets the real one.
 */
const nodeProcess = vm.runInThisContext('process') as NodeJS.Process;

/**
 * Runs `fn` and returns the rejections Node reported as unhandled meanwhile (an empty list when none). Outside
 * Jest each one would have ended the process (Node's default `--unhandled-rejections=throw`), even one that
 * was observed later; Jest only fails a test when it ends between the report and that later observation.
 * Node reports at the end of the turn a rejection happened in: the check lets one more turn pass after `fn`.
 */
export async function unhandledRejectionsDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const reported: unknown[] = [];
  const listener = (reason: unknown) => reported.push(reason);
  nodeProcess.on('unhandledRejection', listener);
  try {
    await fn();
    await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    nodeProcess.off('unhandledRejection', listener);
  }
  return reported;
}
