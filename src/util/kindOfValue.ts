/** What a value is, for error messages about YAML/JSON input: `a map`, `a list`, `null`, `nothing`, `string "x"`. */
export function kindOfValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}
