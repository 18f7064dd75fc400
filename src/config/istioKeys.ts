/**
 * `values` and `meshConfig` keys against Istio's own schema (src/config/istioSchema.ts): a key Istio does not know is
 * refused with the nearest known one; a key Istio knows but the injector does not read (src/config/injectorReads.ts)
 * is accepted and reported, so the operator learns it has no effect here.
 */
import type { JsonObject } from '../k8s/types.js';
import { PROXY_CONFIG_FIELDS } from '../inject/proxyConfig.js';
import { isPlainObject } from '../util/json.js';
import { INJECTOR_READS } from './injectorReads.js';
import { ISTIO_CHART_ONLY_VALUES } from './istioChartKeys.js';
import { ISTIO_MESH_CONFIG_SCHEMA, ISTIO_VALUES_SCHEMA } from './istioSchema.js';
import { unknownKeyHint } from './suggest.js';
import { ConfigError } from './types.js';

/**
 * Messages by name; each maps a key to the message it holds, `[]Name` for a list of them, or `*` for any value
 * (nothing below it is checked).
 */
export interface IstioSchema {
  readonly root: string;
  readonly messages: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** meshConfig.defaultConfig: the ProxyConfig field table the injector already parses it with. */
const PROXY_CONFIG: Readonly<Record<string, string>> = Object.fromEntries(PROXY_CONFIG_FIELDS.map(([name]) => [name, '*']));

/** The values schema with the keys only Istio's chart and template use. */
const VALUES_SCHEMA: IstioSchema = {
  root: ISTIO_VALUES_SCHEMA.root,
  messages: Object.fromEntries(
    Object.entries(ISTIO_VALUES_SCHEMA.messages).map(([name, fields]) => [name, { ...fields, ...ISTIO_CHART_ONLY_VALUES[name] }]),
  ),
};

const SCHEMAS = { values: VALUES_SCHEMA, meshConfig: ISTIO_MESH_CONFIG_SCHEMA } as const;
export type IstioSection = keyof typeof SCHEMAS;

/**
 * MeshConfig is decoded as proto JSON, which takes a field's proto name (`default_config`) as well as its JSON name
 * (`defaultConfig`); a proto name is recognised, to be refused with the JSON name to write (see walk). Helm values
 * are template data, where only the key as declared is read.
 */
const PROTO_NAMES: Record<IstioSection, boolean> = { values: false, meshConfig: true };

/** The JSON name of a proto field name: each `_x` becomes `X`. */
const jsonName = (protoName: string): string => protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function fieldsOf(schema: IstioSchema, message: string): Readonly<Record<string, string>> | undefined {
  // A message of the schema's own file first: Helm values have a ProxyConfig of their own (values.global.proxy).
  return schema.messages[message] ?? (message === 'ProxyConfig' ? PROXY_CONFIG : undefined);
}

/** A key written in a map, with the schema type it has there. */
interface Visit {
  path: string;
  kind: string;
  value: unknown;
}

/** Every key of `node` (a map of `message`) and below, in order; throws on the first key Istio does not know. */
function walk(section: IstioSection, message: string, node: JsonObject, path: string, visit: (v: Visit) => boolean): void {
  const schema = SCHEMAS[section];
  const fields = fieldsOf(schema, message);
  if (!fields) return;
  for (const [key, value] of Object.entries(node)) {
    const name = PROTO_NAMES[section] ? jsonName(key) : key;
    const kind = Object.hasOwn(fields, name) ? fields[name] : undefined;
    const at = `${path}.${key}`;
    if (kind === undefined) throw new ConfigError(at, `unknown key; ${unknownKeyHint(key, Object.keys(fields))}`);
    // The injector reads MeshConfig by JSON names (ProxyConfig, parsed as Istio does, takes both): a proto name there
    // would load and then be ignored, where Istio applies it.
    if (name !== key && fields !== PROXY_CONFIG) {
      throw new ConfigError(at, `write it as ${name}: mesh-webhook reads MeshConfig fields by their JSON names (Istio also accepts the proto name ${key})`);
    }
    if (!visit({ path: at, kind, value })) continue;
    if (kind.startsWith('[]') && Array.isArray(value)) {
      value.forEach((item, i) => {
        if (isPlainObject(item)) walk(section, kind.slice(2), item, `${at}[${i}]`, visit);
      });
    } else if (kind !== '*' && isPlainObject(value)) {
      walk(section, kind, value, at, visit);
    }
  }
}

/** Refuses a key under `values` or `meshConfig` that Istio's schema does not have, naming the nearest known key. */
export function checkIstioKeys(section: IstioSection, tree: JsonObject): void {
  walk(section, SCHEMAS[section].root, tree, section, () => true);
}

/**
 * `tree` as an Istio installation writes it, for the injector: keys Istio's schema does not know (a newer or older
 * Istio's) are left out and listed, MeshConfig proto names (`default_config`) become JSON names, as Istio reads them.
 */
export function knownIstioKeys(section: IstioSection, tree: JsonObject): { known: JsonObject; unknown: string[] } {
  const unknown: string[] = [];
  const copy = (message: string, node: JsonObject, path: string): JsonObject => {
    const fields = fieldsOf(SCHEMAS[section], message);
    if (!fields) return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      const name = PROTO_NAMES[section] ? jsonName(key) : key;
      const kind = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (kind === undefined) {
        unknown.push(`${path}.${key}`);
        continue;
      }
      if (kind.startsWith('[]') && Array.isArray(value)) {
        out[name] = value.map((item, i) => (isPlainObject(item) ? copy(kind.slice(2), item, `${path}.${key}[${i}]`) : item));
      } else if (kind !== '*' && isPlainObject(value)) {
        out[name] = copy(kind, value, `${path}.${key}`);
      } else {
        out[name] = value;
      }
    }
    return out;
  };
  return { known: copy(SCHEMAS[section].root, tree, section), unknown };
}

const READS = new Set(INJECTOR_READS);

/** Whether the injector reads some key inside the map at `path`. */
function readBelow(path: string): boolean {
  for (const read of READS) if (read.startsWith(`${path}.`)) return true;
  return false;
}

/** Whether the injector reads the key at `path` as a whole (or a key above it). */
function readWhole(path: string): boolean {
  for (const read of READS) if (path === read || path.startsWith(`${read}.`)) return true;
  return false;
}

/**
 * The keys in `tree` (what the operator wrote under `values` or `meshConfig`) that Istio knows but the injector does
 * not read, outermost first: `values.pilot` when nothing under it is read, not each of its keys.
 */
export function unreadIstioKeys(section: IstioSection, tree: JsonObject): string[] {
  const unread: string[] = [];
  walk(section, SCHEMAS[section].root, tree, section, ({ path }) => {
    if (readWhole(path)) return false;
    if (readBelow(path)) return true;
    unread.push(path);
    return false;
  });
  return unread;
}
