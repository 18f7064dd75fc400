/**
 * Kubernetes strategic merge patch for the pod fields the injector merges: maps merge recursively, lists of
 * containers/volumes/env/... merge by their key and keep Kubernetes' element order (patch order, with items only in
 * the original placed by their original position), other lists and scalars are replaced, `null` deletes.
 * Inputs are not modified; untouched subtrees keep their identity (the patch builder relies on it).
 */
import { isPlainObject } from '../util/json.js';
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  env: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
};

type Obj = Record<string, unknown>;

export function strategicMerge<T extends Obj>(original: T, patch: Obj): T {
  const out: Obj = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    // `out.__proto__ = …` would replace out's prototype: a key from a JSON annotation (proxy.istio.io/overrides) must not.
    if (value === undefined || key === '__proto__') continue;
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    const mergeKey = MERGE_KEYS[key];
    if (mergeKey && Array.isArray(value) && Array.isArray(current)) out[key] = mergeList(current, value, mergeKey);
    else if (isPlainObject(value) && isPlainObject(current)) out[key] = strategicMerge(current, value);
    else out[key] = value;
  }
  return out as T;
}

function keyOf(item: unknown, mergeKey: string): unknown {
  return isPlainObject(item) ? item[mergeKey] : item;
}

function mergeList(original: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const originalIndex = new Map<unknown, number>();
  original.forEach((item, i) => originalIndex.set(keyOf(item, mergeKey), i));
  const patchKeys = new Set<unknown>();
  const patched: unknown[] = [];
  for (const item of patch) {
    const key = keyOf(item, mergeKey);
    patchKeys.add(key);
    const i = originalIndex.get(key);
    const base = i === undefined ? undefined : original[i];
    patched.push(isPlainObject(base) && isPlainObject(item) ? strategicMerge(base, item) : item);
  }
  const serverOnly = original.filter((item) => !patchKeys.has(keyOf(item, mergeKey)));
  // apimachinery's mergeSortedSlice: interleave server-only items into the patch list by their original position.
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patched.length) {
    if (i >= serverOnly.length) out.push(patched[j++]);
    else if (j >= patched.length) out.push(serverOnly[i++]);
    else {
      const li = originalIndex.get(keyOf(serverOnly[i], mergeKey));
      const ri = originalIndex.get(keyOf(patched[j], mergeKey));
      if (li !== undefined && ri !== undefined && li < ri) out.push(serverOnly[i++]);
      else out.push(patched[j++]);
    }
  }
  return out;
}
