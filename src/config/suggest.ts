/**
 * "Did you mean ...?" for a mistyped key: the nearest known key by Damerau-Levenshtein distance (insertions,
 * deletions, substitutions and swaps of neighbours, each costing one), when it is close enough to be the intent.
 */

/** Optimal string alignment distance (Damerau-Levenshtein without editing a substring twice). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((d[i - 1]?.[j] ?? 0) + 1, (d[i]?.[j - 1] ?? 0) + 1, (d[i - 1]?.[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (d[i - 2]?.[j - 2] ?? 0) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return d[a.length]?.[b.length] ?? 0;
}

/**
 * How far a key may be from the one meant: one edit for short keys, two from 5 characters, three from 12 (case
 * differences count, `proxyinit` is two edits from `proxy_init`).
 */
function tolerance(key: string): number {
  if (key.length < 5) return 1;
  return key.length < 12 ? 2 : 3;
}

/** The known key nearest to `key` within tolerance (the first in `known`'s order on a tie), or undefined. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = tolerance(key) + 1;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `did you mean X?`, or the first few known keys when none is close. */
export function unknownKeyHint(key: string, known: readonly string[]): string {
  const nearest = nearestKey(key, known);
  if (nearest !== undefined) return `did you mean ${nearest}?`;
  const few = known.slice(0, 8).join(', ');
  return `known keys here are ${few}${known.length > 8 ? `, ... (${known.length} in all)` : ''}`;
}
