/**
 * Checks that `buf[start, end)` is well-formed UTF-8 as MQTT requires (section 1.5.4): shortest
 * form only, no surrogates (U+D800–U+DFFF), nothing above U+10FFFF and no U+0000.
 */
export function isValidMqttUtf8(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  // Fast path: plain ASCII without NUL needs no decoding checks.
  while (i < end) {
    const b = buf[i] as number;
    if (b >= 0x80 || b === 0) break;
    i++;
  }
  while (i < end) {
    const b = buf[i] as number;
    if (b === 0) return false;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      if (i + 1 >= end || ((buf[i + 1] as number) & 0xc0) !== 0x80) return false;
      i += 2;
      continue;
    }
    if (b >= 0xe0 && b <= 0xef) {
      if (i + 2 >= end) return false;
      const b1 = buf[i + 1] as number;
      if ((b1 & 0xc0) !== 0x80 || ((buf[i + 2] as number) & 0xc0) !== 0x80) return false;
      if (b === 0xe0 && b1 < 0xa0) return false; // overlong
      if (b === 0xed && b1 >= 0xa0) return false; // surrogate
      i += 3;
      continue;
    }
    if (b >= 0xf0 && b <= 0xf4) {
      if (i + 3 >= end) return false;
      const b1 = buf[i + 1] as number;
      if (
        (b1 & 0xc0) !== 0x80 ||
        ((buf[i + 2] as number) & 0xc0) !== 0x80 ||
        ((buf[i + 3] as number) & 0xc0) !== 0x80
      ) {
        return false;
      }
      if (b === 0xf0 && b1 < 0x90) return false; // overlong
      if (b === 0xf4 && b1 >= 0x90) return false; // above U+10FFFF
      i += 4;
      continue;
    }
    return false; // 0x80–0xC1 lead bytes (continuation or overlong) and 0xF5–0xFF
  }
  return true;
}
