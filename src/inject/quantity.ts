/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity): parsing and the canonical form the
 * API server stores (`2000m` → `2`, `1024Mi` → `1Gi`, `0.5` → `500m`). Injected resources are emitted in this form
 * so that what we send equals what the cluster keeps.
 */
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const SUFFIX_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIX).map(([s, e]) => [e, s]));
const BINARY_BY_POWER = new Map(Object.entries(BINARY_SUFFIX).map(([s, p]) => [p, s]));

type Format = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** An exact value `mantissa × 10^exponent` and the format it was written in. */
interface ParsedQuantity {
  mantissa: bigint;
  exponent: number;
  format: Format;
}

export function isQuantity(text: string): boolean {
  return QUANTITY.test(text);
}

function parse(text: string): ParsedQuantity | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, num = '0', exp, suffix = ''] = m;
  const negative = num.startsWith('-');
  const digits = num.replace(/^[+-]/, '');
  const [intPart = '', fracPart = ''] = digits.split('.');
  let mantissa = BigInt((intPart + fracPart).replace(/^0+(?=\d)/, '') || '0');
  let exponent = -fracPart.length;
  let format: Format = 'DecimalSI';
  if (exp !== undefined) {
    exponent += Number(exp.slice(1));
    format = 'DecimalExponent';
  } else if (suffix in BINARY_SUFFIX) {
    mantissa *= 1024n ** BigInt(BINARY_SUFFIX[suffix]!);
    format = 'BinarySI';
  } else {
    exponent += DECIMAL_SUFFIX[suffix]!;
  }
  if (negative) mantissa = -mantissa;
  return { mantissa, exponent, format };
}

/**
 * Compares two quantities by value (`1Gi` > `1000Mi`, `0.5` = `500m`): negative, zero or positive. Undefined when
 * either is not a quantity.
 */
export function compareQuantities(a: string | number, b: string | number): number | undefined {
  // Every injected container compares the same few configured quantities: remember the answers (bounded: a pod's own
  // values are arbitrary text, so the memo is dropped whole when it fills).
  const key = `${a}\u0000${b}`;
  if (COMPARED.has(key)) return COMPARED.get(key);
  const order = compareParsed(a, b);
  if (COMPARED.size >= COMPARED_MAX) COMPARED.clear();
  COMPARED.set(key, order);
  return order;
}

const COMPARED = new Map<string, number | undefined>();
const COMPARED_MAX = 512;

function compareParsed(a: string | number, b: string | number): number | undefined {
  const x = parse(String(a).trim());
  const y = parse(String(b).trim());
  if (!x || !y) return undefined;
  const e = Math.min(x.exponent, y.exponent);
  const vx = x.mantissa * 10n ** BigInt(x.exponent - e);
  const vy = y.mantissa * 10n ** BigInt(y.exponent - e);
  return vx === vy ? 0 : vx < vy ? -1 : 1;
}

/** Removes trailing zeros so that the mantissa is as small as possible. */
function normalise(q: ParsedQuantity): ParsedQuantity {
  let { mantissa, exponent } = q;
  if (mantissa === 0n) return { ...q, mantissa: 0n, exponent: 0 };
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  // Like Go, nothing below nano: round up to the next nano unit.
  if (exponent < -9) {
    const scale = 10n ** BigInt(-9 - exponent);
    const q0 = mantissa / scale;
    mantissa = q0 * scale === mantissa ? q0 : q0 + (mantissa > 0n ? 1n : 0n);
    exponent = -9;
    return normalise({ ...q, mantissa, exponent });
  }
  return { ...q, mantissa, exponent };
}

function integerValue(q: ParsedQuantity): bigint | undefined {
  if (q.exponent >= 0) return q.mantissa * 10n ** BigInt(q.exponent);
  return undefined;
}

function formatDecimal(q: ParsedQuantity, exponentStyle: boolean): string {
  if (q.mantissa === 0n) return '0';
  let e3 = Math.floor(q.exponent / 3) * 3;
  if (!exponentStyle) e3 = Math.min(18, Math.max(-9, e3));
  const mantissa = q.mantissa * 10n ** BigInt(q.exponent - e3);
  if (exponentStyle) return e3 === 0 ? `${mantissa}` : `${mantissa}e${e3}`;
  return `${mantissa}${SUFFIX_BY_EXPONENT.get(e3) ?? ''}`;
}

/** The Kubernetes canonical string of a quantity; throws when `text` is not a quantity. */
export function canonicalQuantity(text: string | number): string {
  const raw = String(text).trim();
  const parsed = parse(raw);
  if (!parsed) throw new Error(`'${raw}' is not a Kubernetes quantity (e.g. 100m, 0.5, 128Mi, 1Gi)`);
  return canonicalOf(parsed);
}

/**
 * The sum of quantities in canonical form, in the format of the first (as resource.Quantity.Add keeps the receiver's),
 * `0` for none; undefined when one is not a quantity.
 */
export function sumQuantities(texts: readonly (string | number)[]): string | undefined {
  const parsed = texts.map((t) => parse(String(t).trim()));
  if (parsed.some((p) => p === undefined)) return undefined;
  const all = parsed as ParsedQuantity[];
  if (all.length === 0) return '0';
  const exponent = Math.min(...all.map((q) => q.exponent));
  const mantissa = all.reduce((sum, q) => sum + q.mantissa * 10n ** BigInt(q.exponent - exponent), 0n);
  return canonicalOf({ mantissa, exponent, format: all[0]!.format });
}

function canonicalOf(parsed: ParsedQuantity): string {
  const q = normalise(parsed);
  if (q.format === 'BinarySI') {
    const value = integerValue(q);
    if (value !== undefined && (value >= 1024n || value <= -1024n)) {
      let power = 0;
      let n = value;
      while (power < 6 && n % 1024n === 0n) {
        n /= 1024n;
        power += 1;
      }
      return power === 0 ? `${n}` : `${n}${BINARY_BY_POWER.get(power)}`;
    }
    return formatDecimal(q, false);
  }
  return formatDecimal(q, q.format === 'DecimalExponent');
}

/** Canonicalises every quantity of a `resources` block (`requests`/`limits`), dropping null entries (Istio's omitNil). */
export function canonicalResources(resources: unknown): Record<string, Record<string, string>> | undefined {
  if (resources === null || typeof resources !== 'object') return undefined;
  const out: Record<string, Record<string, string>> = {};
  for (const [kind, entries] of Object.entries(resources as Record<string, unknown>)) {
    if (entries === null || typeof entries !== 'object') continue;
    const block: Record<string, string> = {};
    for (const [name, value] of Object.entries(entries as Record<string, unknown>)) {
      if (value === null || value === undefined) continue;
      block[name] = canonicalQuantity(value as string | number);
    }
    if (Object.keys(block).length > 0) out[kind] = block;
  }
  return out;
}
