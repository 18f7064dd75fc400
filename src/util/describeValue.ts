/**
 * A value as error messages name it, one wording for configuration, manifests and AdmissionReviews: `nothing`, `null`,
 * `"text"` (cut after 200 characters), `number 5`, `boolean true`, `a list`, `a map`. With `{ content: true }` lists
 * and maps show what they hold as JSON (cut after 80 characters): `the list ["a"]`, `the map {"a":1}`.
 */

const TEXT_MAX = 200;
const CONTENT_MAX = 80;

export function describeValue(v: unknown, options: { content?: boolean } = {}): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > TEXT_MAX ? `${v.slice(0, TEXT_MAX)}…` : v);
  const collection = Array.isArray(v) ? 'list' : typeof v === 'object' ? 'map' : undefined;
  if (collection === undefined) return `${typeof v} ${String(v)}`;
  if (!options.content) return `a ${collection}`;
  const json = JSON.stringify(v) ?? String(v);
  return `the ${collection} ${json.length > CONTENT_MAX ? `${json.slice(0, CONTENT_MAX - 3)}...` : json}`;
}
