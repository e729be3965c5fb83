/**
 * A topic (or any peer-supplied text) made safe for one log line: control characters (C0, DEL, C1, and the
 * Unicode line/paragraph separators) become `\xNN` / `\uNNNN`, so a topic cannot split a log line or send ANSI
 * escapes to a terminal. Long text is cut to `max` characters.
 */
export function printable(text: string, max = 512): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max)}…(${escaped.length} chars)` : escaped;
}
