/**
 * The structural tokens of a JSON text, counted on its bytes before it is parsed: every `{`, `[`, `:` and `,` outside
 * strings. That is about one per value (a member is a `:` and a `,`, an element a `,`), so it bounds what JSON.parse
 * would build: a 6 MiB body of small keys becomes ~35 MiB of heap and seconds of work once parsed, while this count
 * takes a few milliseconds and no memory. Invalid JSON is counted as far as it goes (the parser refuses it later).
 */

/** Tokens of `bytes` (UTF-8 JSON), counting stops once `stop` is reached. */
export function countJsonTokens(bytes: Uint8Array, stop: number): number {
  let n = 0;
  const len = bytes.length;
  for (let i = 0; i < len; i++) {
    const c = bytes[i]!;
    if (c === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the next byte; multi-byte UTF-8 never contains 0x22
      // or 0x5c, so a byte scan is exact).
      for (i++; i < len; i++) {
        const d = bytes[i]!;
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x2c || c === 0x3a || c === 0x7b || c === 0x5b) {
      if (++n >= stop) return n;
    }
  }
  return n;
}

/** A body of at most `maxTokens` bytes cannot hold more tokens than that (each takes a byte), so it need not be counted. */
export function mayExceedTokens(byteLength: number, maxTokens: number): boolean {
  return byteLength > maxTokens;
}
