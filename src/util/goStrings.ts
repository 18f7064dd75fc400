/**
 * Go's string handling where Istio's rules depend on it: what `strings.TrimSpace` trims, what `strconv.Atoi`
 * accepts, and how `encoding/json` writes a string. JavaScript's own `trim`, `Number` and `JSON.stringify` differ
 * at the edges (a BOM, U+0085, `1e3`, `0x10`, `<`), and those edges decide whether a pod is refused.
 */

/** Go's unicode.IsSpace: JavaScript's `\s` without U+FEFF, plus U+0085 (NEL). */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const LEADING_SPACE = new RegExp(`^${GO_SPACE}+`);
const TRAILING_SPACE = new RegExp(`${GO_SPACE}+$`);

/** Go's strings.TrimSpace. */
export function goTrimSpace(text: string): string {
  return text.replace(LEADING_SPACE, '').replace(TRAILING_SPACE, '');
}

/** Go's strconv.Atoi (base 10, an optional sign, digits only); undefined where Go returns an error. */
export function goAtoi(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  // Out of int64's range is an error in Go; far beyond any port either way.
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A text in double quotes as Go's `%q` writes it in Istio's messages, for what matters in a message: quotes,
 * backslashes and control characters escaped, and no line break of any kind left (U+0085, U+2028, U+2029 escaped too),
 * so the message stays on one line. (Go escapes other non-printable characters as well; they are left as they are.)
 */
export function goQuote(text: string): string {
  return JSON.stringify(text).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const HTML_AND_SEPARATORS = /[<>&\u2028\u2029]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A string as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes; a lone surrogate (which
 * Go decoded from the request as U+FFFD) as U+FFFD; the rest as JSON.stringify writes it (same short escapes and
 * lowercase hex since Go 1.22).
 */
export function goJsonString(text: string): string {
  return JSON.stringify(text.replace(LONE_SURROGATE, '\uFFFD')).replace(
    HTML_AND_SEPARATORS,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
