/**
 * Nesting depth of JSON text, measured on the text itself (one linear scan, no recursion, no allocation), so that
 * deeply nested input can be refused before anything recursive (JSON.stringify, the patch builder, merges) sees it.
 *
 * Kubernetes objects are shallow: an AdmissionReview of a Pod with managedFields stays under 25 levels, a volume or a
 * volume mount under 6. {@link MAX_JSON_DEPTH} leaves a wide margin and still keeps every recursive function of the
 * injector and the validator far from the stack limit (they survive well over 1,000 levels).
 */

/** Deepest nesting of objects/arrays accepted in a request body or in a JSON annotation. */
export const MAX_JSON_DEPTH = 128;

/** The index of the quote that closes the JSON string whose opening quote is at `open` (`text.length` if none does). */
export function endOfString(text: string, open: number): number {
  const n = text.length;
  let i = open + 1;
  for (; i < n; i++) {
    const d = text.charCodeAt(i);
    if (d === 0x5c /* \ */) i++;
    else if (d === 0x22 /* " */) break;
  }
  return Math.min(i, n);
}

/**
 * The nesting depth of JSON `text` (0 for a scalar, 1 for `{}` or `[]`), or `limit + 1` as soon as it exceeds `limit`.
 * Brackets inside strings are ignored. Malformed text is scanned as it is (the JSON parser reports it).
 */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = endOfString(text, i);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return limit + 1;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return max;
}

/**
 * The nesting depth of a parsed JSON value (0 for a scalar, 1 for `{}` or `[]`), or `limit + 1` as soon as it exceeds
 * `limit`. Iterative, so any depth is safe to measure. V8's JSON.parse is iterative too (it parses a million levels
 * without overflowing the stack), so checking the parsed value is as safe as checking the text, and walking the
 * objects is several times cheaper than scanning every character of the text.
 */
export function valueDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  return inspectValue(value, limit).depth;
}

/** What one walk of a parsed body tells: its depth (as {@link valueDepth}) and whether any object has a suspicious key. */
export interface ValueShape {
  depth: number;
  /**
   * Some object has an own `__proto__` or `constructor` key: the only keys a later merge could turn into prototype
   * pollution. The caller looks closer (it is rare: Kubernetes objects have neither).
   */
  suspiciousKey: boolean;
}

/**
 * {@link valueDepth} and the suspicious-key test in one walk of the parsed value, instead of a depth walk plus three
 * scans of the text for `__proto__`, `constructor` and `\u` (a request's body checks, once per admission).
 */
export function inspectValue(value: unknown, limit = MAX_JSON_DEPTH): ValueShape {
  if (value === null || typeof value !== 'object') return { depth: 0, suspiciousKey: false };
  const stack: object[] = [value];
  const depths: number[] = [1];
  let max = 0;
  let suspiciousKey = false;
  while (stack.length > 0) {
    const v = stack.pop()!;
    const d = depths.pop()!;
    if (d > max) {
      max = d;
      if (max > limit) return { depth: limit + 1, suspiciousKey };
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (x !== null && typeof x === 'object') {
          stack.push(x);
          depths.push(d + 1);
        }
      }
    } else {
      if (Object.hasOwn(v, '__proto__') || Object.hasOwn(v, 'constructor')) suspiciousKey = true;
      for (const k in v) {
        const x: unknown = (v as Record<string, unknown>)[k];
        if (x !== null && typeof x === 'object') {
          stack.push(x);
          depths.push(d + 1);
        }
      }
    }
  }
  return { depth: max, suspiciousKey };
}
