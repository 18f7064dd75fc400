/**
 * `sidecar.istio.io/userVolume` and `sidecar.istio.io/userVolumeMount`, as Istio's sidecar template reads them:
 * `fromJSON` of the value, then for each entry (a map's keys in sorted order, or a list's items in order) a list item
 * `name: "<key or index>"` followed by the entry's own fields, so an entry's own `name` wins over its key or index
 * (the YAML duplicate key keeps the last). Entries must be JSON objects: anything else breaks the rendered YAML.
 * JSON `null` is no entries.
 */
import { jsonDepth, MAX_JSON_DEPTH } from '../util/jsonDepth.js';
import { quoteValue } from './quote.js';

export interface UserVolumeEntry {
  /** The map key or list index the entry was given under. */
  key: string;
  /** The volume (or mount) as injected: `name` from the entry itself, else the key or index. */
  value: Record<string, unknown> & { name: string };
}

/** The entries of the annotation value, or a one-line problem when Istio's template could not render it. */
export function parseUserVolumes(text: string): UserVolumeEntry[] | string {
  if (jsonDepth(text) > MAX_JSON_DEPTH) return `must be a JSON object or list nested at most ${MAX_JSON_DEPTH} levels deep`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return `must be a JSON object (name → definition) or a list of definitions: ${(e as Error).message}`;
  }
  // JSON null ranges over nothing in Istio's template: no volumes.
  if (parsed === null) return [];
  if (typeof parsed !== 'object') return 'must be a JSON object (name → definition) or a list of definitions';
  const pairs: [string, unknown][] = Array.isArray(parsed)
    ? parsed.map((item, i) => [String(i), item])
    : Object.keys(parsed)
        .sort()
        .map((k) => [k, (parsed as Record<string, unknown>)[k]]);
  const entries: UserVolumeEntry[] = [];
  for (const [key, item] of pairs) {
    const what = Array.isArray(parsed) ? `item ${key}` : `entry '${quoteValue(key)}'`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return `${what} must be a JSON object`;
    const own = (item as Record<string, unknown>).name;
    if (Object.hasOwn(item, 'name') && typeof own !== 'string') return `${what}: name must be a string`;
    entries.push({ key, value: { name: key, ...(item as Record<string, unknown>) } as UserVolumeEntry['value'] });
  }
  return entries;
}
