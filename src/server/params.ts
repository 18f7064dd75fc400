/**
 * Request parameters of the webhook URL: Istio-style path parameters and the API server's `?timeout=`.
 * Pure functions, unit-tested in test/server/params.test.ts.
 */

/** Budget used when `?timeout=` is absent or invalid: the Kubernetes default webhook timeout. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/u;

/**
 * Parse a Go `time.Duration` string (`10s`, `1m30s`, `1.5s`, `250ms`, `-2s`, `0`) into milliseconds.
 * Returns undefined for anything Go's `time.ParseDuration` would reject (missing unit, unknown unit, empty).
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest.length === 0) return undefined;
  let total = 0;
  while (rest.length > 0) {
    const match = DURATION_PART.exec(rest);
    if (!match) return undefined;
    const [whole, number, unit] = match as unknown as [string, string, string];
    const factor = UNIT_MS[unit];
    if (factor === undefined) return undefined;
    total += Number(number) * factor;
    rest = rest.slice(whole.length);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

/**
 * The time budget of one admission request from its `timeout` query value. Absent, unparsable, zero or
 * negative values are ignored and give {@link DEFAULT_TIMEOUT_MS}.
 */
export function admissionBudgetMs(timeout: unknown): number {
  const value = Array.isArray(timeout) ? timeout[0] : timeout;
  if (typeof value !== 'string') return DEFAULT_TIMEOUT_MS;
  const ms = parseGoDuration(value.trim());
  return ms !== undefined && ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const SLASH = /--slash--/g;

/**
 * The proxy parameters encoded in the webhook path, the way Istio's injector reads them:
 *
 * - `/inject/cluster/c1/net/n1` → `{ cluster: 'c1', net: 'n1' }` (key/value segment pairs);
 * - `/inject/:ENV:cluster=c1:ENV:net=n1` → same (Istio's deprecated form; pairs without `=` or with an empty
 *   name are ignored, empty values are kept);
 * - `--slash--` in a value stands for `/`; an odd trailing key without a value is ignored; segments are
 *   percent-decoded one by one (so an encoded `%2F` stays inside its segment); a later duplicate key wins.
 *
 * Keys are passed raw: mapping `cluster` → `ISTIO_META_CLUSTER_ID` etc. is the injection core's job.
 * `pathname` is the URL path without the query string, starting with `/inject`.
 */
export function parseInjectPath(pathname: string): Record<string, string> {
  const params = new Map<string, string>();
  const trimmed = pathname.replace(/\/+$/, '');
  const prefix = '/inject/';
  if (!trimmed.startsWith(prefix)) return {};
  const tail = trimmed.slice(prefix.length);
  if (tail.length === 0) return {};

  const pairs: [string, string][] = [];
  const decodedTail = decodeSegment(tail);
  if (decodedTail.startsWith(':ENV:')) {
    for (const item of decodedTail.split(':ENV:').slice(1)) {
      const eq = item.indexOf('=');
      if (eq <= 0) continue;
      pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
    }
  } else {
    const segments = tail.split('/').map(decodeSegment);
    for (let i = 0; i + 1 < segments.length; i += 2) {
      pairs.push([segments[i] as string, segments[i + 1] as string]);
    }
  }
  for (const [key, value] of pairs) {
    if (key.length === 0 || key === '__proto__') continue;
    params.set(key.replace(SLASH, '/'), value.replace(SLASH, '/'));
  }
  return Object.fromEntries(params);
}
