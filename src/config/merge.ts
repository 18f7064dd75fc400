import type { JsonObject, JsonValue } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';

/** Keys that must never be written through from untrusted data (prototype pollution). */
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Deep-merges `overlay` onto `base` the way Helm merges values: maps merge key by key, lists and scalars replace,
 * an explicit `null` is kept (Istio's `omitNil` then drops it). Neither input is modified.
 */
export function deepMerge(base: JsonObject, overlay: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (FORBIDDEN_KEYS.has(key) || value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : cloneJson(value);
  }
  return out;
}

export function cloneJson<T extends JsonValue>(v: T): T {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as T);
}
