/**
 * The one way tests wait for something: poll `predicate` until it holds, within a deadline. Never a fixed sleep;
 * to prove that nothing else arrived, publish a sentinel after the last expected message and wait for it
 * (test/testing/driver-semantics.ts).
 */

/**
 * Resolves once `predicate()` is true, checking at once and then every `interval` ms; rejects naming `what` (a
 * string, or a function for a message built at failure time) after `timeout` ms.
 */
export async function eventually(
  predicate: () => boolean,
  what: string | (() => string) = 'the condition',
  timeout = 5000,
  interval = 5,
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
