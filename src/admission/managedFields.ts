/**
 * An AdmissionReview parsed without the `metadata.managedFields` of its object and old object: the field manager's
 * bookkeeping, which no rule of the injector or the validator reads, and often half of a pod's JSON (a deep tree of
 * small objects, the costliest kind of JSON to parse). Their text is skipped with a bracket scan and they are left
 * undefined in the parsed review; everything else is parsed by JSON.parse as before.
 *
 * Exact, or not used: a skipped member must turn out to be `request.object.metadata.managedFields` or
 * `request.oldObject.metadata.managedFields` of the parsed review (checked with a marker only this process can write);
 * any other outcome (a key of that name elsewhere, text that does not parse once spliced) parses the whole text again.
 */

import { endOfString } from '../util/jsonDepth.js';

const KEY = '"managedFields"';

/** Put where a skipped list was; a value no body can carry (a NUL and a random tag, chosen per process). */
const MARKER = `\u0000mesh-webhook:managedFields:${Math.random().toString(36).slice(2)}`;
const MARKER_JSON = JSON.stringify(MARKER);

/** Where the JSON value (an array or object) starting at `start` ends (exclusive), or -1 if the text ends first. */
function endOfContainer(text: string, start: number): number {
  let depth = 0;
  const n = text.length;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) i = endOfString(text, i);
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** True when the quote at `at` is not escaped (an even number of backslashes before it). */
function unescapedQuote(text: string, at: number): boolean {
  let backslashes = 0;
  for (let i = at - 1; i >= 0 && text.charCodeAt(i) === 0x5c; i--) backslashes++;
  return backslashes % 2 === 0;
}

/**
 * The text with the list value of every `"managedFields":` key replaced by the marker, and how many were replaced.
 * In valid JSON an unescaped `"managedFields"` followed by `:` is always a key (a string value cannot be followed by a
 * colon); which object's key it is, the caller checks after parsing.
 */
function spliceLists(text: string): { text: string; spliced: number } {
  let out = '';
  let from = 0;
  let spliced = 0;
  for (let at = text.indexOf(KEY); at !== -1 && spliced < 2; at = text.indexOf(KEY, at + KEY.length)) {
    if (!unescapedQuote(text, at)) continue;
    let v = at + KEY.length;
    while (v < text.length && isSpace(text.charCodeAt(v))) v++;
    if (text.charCodeAt(v) !== 0x3a /* : */) continue;
    v++;
    while (v < text.length && isSpace(text.charCodeAt(v))) v++;
    if (text.charCodeAt(v) !== 0x5b /* [ */) continue;
    const end = endOfContainer(text, v);
    if (end === -1) break;
    out += text.slice(from, v) + MARKER_JSON;
    from = end;
    at = end - KEY.length;
    spliced++;
  }
  return spliced === 0 ? { text, spliced } : { text: out + text.slice(from), spliced };
}

/** The metadata of `request[field]` when it is an object holding the marker; its managedFields is then made undefined. */
function clearMarker(request: Record<string, unknown>, field: 'object' | 'oldObject'): boolean {
  const object = request[field];
  if (typeof object !== 'object' || object === null) return false;
  const metadata = (object as Record<string, unknown>).metadata;
  if (typeof metadata !== 'object' || metadata === null) return false;
  const meta = metadata as Record<string, unknown>;
  if (meta.managedFields !== MARKER) return false;
  // Assigned, not deleted: a delete would turn the metadata into a slow dictionary-mode object.
  meta.managedFields = undefined;
  return true;
}

/**
 * JSON.parse of an AdmissionReview's text, with the managedFields lists of `request.object` and `request.oldObject`
 * not parsed (left undefined). Throws what JSON.parse throws for the whole text.
 */
export function parseReviewSkippingManagedFields(text: string): unknown {
  const { text: spliced, spliced: count } = spliceLists(text);
  if (count === 0) return JSON.parse(text);
  let value: unknown;
  try {
    value = JSON.parse(spliced);
  } catch {
    return JSON.parse(text);
  }
  const request = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).request : undefined;
  if (typeof request === 'object' && request !== null) {
    const r = request as Record<string, unknown>;
    const cleared = Number(clearMarker(r, 'object')) + Number(clearMarker(r, 'oldObject'));
    if (cleared === count) return value;
  }
  // A managedFields key somewhere else (userInfo.extra, a nested object): no shortcut for this body.
  return JSON.parse(text);
}
