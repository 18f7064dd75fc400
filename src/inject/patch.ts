/**
 * The JSON Patch from the request's pod to the injected pod, built from what the injection changed: the injection
 * works copy-on-write, so every untouched subtree keeps its identity and is skipped in O(1). Only the changed paths are
 * walked; the whole pod is never deep-compared (Istio once needed 15 s diffing a pod with 1,500 env vars).
 */
import { isPlainObject } from '../util/json.js';
import type { PatchOperation } from './api.js';


/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export const escapePointer = (key: string): string =>
  key.includes('~') || key.includes('/') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key;

/** Elements of a list are the same element when identical or, for named items (containers, volumes, env), same name. */
function sameElement(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return isPlainObject(a) && isPlainObject(b) && typeof a.name === 'string' && a.name === b.name;
}

function diffArray(orig: unknown[], next: unknown[], path: string, ops: PatchOperation[]): void {
  const plan: Array<[number, number | undefined]> = [];
  let i = 0;
  for (let j = 0; j < next.length; j++) {
    if (i < orig.length && sameElement(orig[i], next[j])) plan.push([j, i++]);
    else plan.push([j, undefined]);
  }
  if (i < orig.length) {
    ops.push({ op: 'replace', path, value: next });
    return;
  }
  for (const [j, from] of plan) {
    if (from === undefined) ops.push({ op: 'add', path: `${path}/${j}`, value: next[j] });
    else diff(orig[from], next[j], `${path}/${j}`, ops);
  }
}

function diff(orig: unknown, next: unknown, path: string, ops: PatchOperation[]): void {
  if (orig === next) return;
  if (isPlainObject(orig) && isPlainObject(next)) {
    for (const key in orig) {
      if (orig[key] !== undefined && next[key] === undefined) ops.push({ op: 'remove', path: `${path}/${escapePointer(key)}` });
    }
    for (const key in next) {
      const value = next[key];
      const before = orig[key];
      // Untouched (same value or same subtree): nothing to say, and no pointer to build.
      if (value === undefined || value === before) continue;
      const p = `${path}/${escapePointer(key)}`;
      if (before === undefined) ops.push({ op: 'add', path: p, value });
      else diff(before, value, p, ops);
    }
    return;
  }
  if (Array.isArray(orig) && Array.isArray(next)) {
    diffArray(orig, next, path, ops);
    return;
  }
  if (typeof orig !== 'object' && orig === next) return;
  ops.push({ op: 'replace', path, value: next });
}

export function buildPatch(original: unknown, updated: unknown): PatchOperation[] {
  const ops: PatchOperation[] = [];
  diff(original, updated, '', ops);
  return ops;
}
