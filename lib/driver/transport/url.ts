/**
 * `mqtt://user:password@host` → `mqtt://***@host`: a broker URL safe to log or put in an error message.
 * Works on strings that do not parse as URLs too.
 */
export function redactUrl(url: string): string {
  // Up to the LAST `@`: a password holding an unescaped `/`, `?`, `#` or `@` must not survive (the URL then does
  // not parse, and this is what error messages print). Over-redacting a path with an `@` is the safe side.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, '$1***@');
}

/**
 * Takes the user info out of a parsed broker URL (percent-decoded) and clears it from the URL, so the client's
 * `url` never carries a password. Returns only the parts that were present.
 */
export function takeUrlCredentials(url: URL): { username?: string; password?: string } {
  const taken: { username?: string; password?: string } = {};
  if (url.username) taken.username = decodeURIComponent(url.username);
  if (url.password) taken.password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return taken;
}
