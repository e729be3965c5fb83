/**
 * A short human description of any thrown value, for logs and error texts: an Error's message, an object's
 * `message`, else its JSON (its string form when it has none, e.g. `undefined` or a circular object).
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
