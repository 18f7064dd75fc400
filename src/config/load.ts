import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, parseDocument, type Node } from 'yaml';
import type { JsonObject, JsonValue } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';
import { cloneJson, deepMerge, FORBIDDEN_KEYS } from './merge.js';
import { PROFILE_NAMES, profileConfig } from './profiles.js';
import { fileReadProblem } from '../util/fileError.js';
import { unreadIstioKeys } from './istioKeys.js';
import { isTextField, valueAt } from './stringFields.js';
import { istioResourceOverlay, type IstioResourceOverlay } from './kymaIstio.js';
import {
  hasIstioInputs,
  readIstioInstallation,
  type IstioInputs,
  type IstioInstallation,
  type IstioReadMode,
  type IstioTemplatesChoice,
  type TextSource,
} from './istioInputs.js';
import { CLUSTER_SIZE_SETTINGS, ConfigError, type ClusterSize, type ClusterSizeSetting, type InjectorConfig, type ProfileName } from './types.js';
import { CONFIG_FILE_KEYS, CONFIG_KEYS, isConfigKey, show, validateConfig } from './validate.js';

export interface LoadConfigOptions {
  /** YAML file with InjectorConfig keys (`profile`, `policy`, ..., `values`, `meshConfig`). */
  configFile?: string;
  /** Built-in starting point; overrides the config file's `profile`. Default `kyma`. */
  profile?: ProfileName;
  /** Helm values documents, deep-merged into `values` in order. */
  valuesFiles?: string[];
  /** MeshConfig documents, deep-merged into `meshConfig` in order. */
  meshFiles?: string[];
  /** `path=value` overrides applied last, in order (`values.global.tag="1.30"`, `policy=disabled`). */
  sets?: string[];
  /** Overrides everything else. */
  nativeSidecars?: boolean | 'auto';
  /** kyma-module: the module's size (overrides the config file's `clusterSize`). */
  clusterSize?: ClusterSizeSetting;
  /** kyma-module: a file with the Kyma Istio custom resource (overrides the config file's `istioCustomResource`). */
  istioCustomResourceFile?: string;
  /** kyma-module: the Kyma Istio custom resource as text (read from the cluster); overrides the file. */
  istioCustomResource?: TextSource;
  /**
   * Istio's own configuration (src/config/istioInputs.ts): each part given replaces the part of the profile it
   * describes, before the config file, `--values`, `--mesh` and `--set` apply.
   */
  istio?: IstioInputs;
  /** How `istio` is read: as istiod's injector (default) or as `istioctl kube-inject` (mesh-webhook inject). */
  istioReadMode?: IstioReadMode;
  /** `--injector-templates`: compare the injection configuration's templates with ours (default) or not. */
  istioTemplates?: IstioTemplatesChoice;
  /** `--revision`: the revision whose webhook selectors the injector answers for (overrides `servedRevision`). */
  servedRevision?: string;
}

type Draft = Record<string, unknown>;

export interface LoadedConfig {
  config: InjectorConfig;
  /**
   * What the operator should know about an accepted configuration, one line each: the `values` and `meshConfig` keys
   * written in the files and `--set` that Istio knows but the injector does not read (they have no effect here).
   */
  notes: string[];
}

/**
 * Builds the injector configuration: profile defaults (kyma-module: of its size, then the Kyma Istio resource) ← config
 * file ← `--values` files ← `--mesh` files ← `--set` overrides ← `--native-sidecars`, then validates the result. Throws {@link ConfigError} naming the file or path.
 */
export function loadConfig(opts: LoadConfigOptions = {}): InjectorConfig {
  return loadConfigWithNotes(opts).config;
}

/** {@link loadConfig}, with the notes on the accepted configuration (for the log of `serve`). */
export function loadConfigWithNotes(opts: LoadConfigOptions = {}): LoadedConfig {
  const configYaml = opts.configFile === undefined ? undefined : readYaml(opts.configFile, 'config');
  const profile = opts.profile ?? profileOf(configYaml?.value, opts.configFile) ?? 'kyma';
  const module = kymaModuleInputs(profile, configYaml?.value, opts);
  // Every file is read once, also when kyma-module's two sizes are built from them.
  const files: ReadFiles = {
    config: configYaml,
    values: (opts.valuesFiles ?? []).map((name) => ({ name, doc: readYaml(name, 'values') })),
    mesh: (opts.meshFiles ?? []).map((name) => ({ name, doc: readYaml(name, 'mesh') })),
  };
  const installation = hasIstioInputs(opts.istio) ? readIstioInstallation(opts.istio, opts.istioReadMode, opts.istioTemplates) : undefined;
  const base = (size?: ClusterSize) => withInstallation(profileConfig(profile, size), installation, opts.istioReadMode);
  const installNotes = installation?.notes ?? [];
  if (module === undefined) {
    const { config, written } = buildConfig(base(), files, opts);
    return { config, notes: [...installNotes, ...unreadNotes(written)] };
  }
  const { overlay } = module;
  const notes: string[] = [...installNotes];
  if (overlay.notRead.length > 0) notes.push(`Kyma Istio resource keys that configure istiod, the gateways or CNI, not the injected sidecar: ${overlay.notRead.join(', ')}`);
  if (overlay.unknown.length > 0) notes.push(`Kyma Istio resource keys this version does not know (a newer module?), ignored: ${overlay.unknown.join(', ')}`);
  const sized = (size: ClusterSize) => {
    const profiled = base(size);
    const withResource: InjectorConfig = { ...profiled, values: deepMerge(profiled.values, overlay.values), meshConfig: deepMerge(profiled.meshConfig, overlay.meshConfig) };
    return buildConfig(withResource, files, opts);
  };
  if (module.setting !== 'auto') {
    const { config, written } = sized(module.setting);
    return { config: { ...config, clusterSize: { setting: module.setting } }, notes: [...notes, ...unreadNotes(written)] };
  }
  const production = sized('production');
  const evaluation = sized('evaluation');
  return {
    config: { ...production.config, clusterSize: { setting: 'auto', evaluationValues: evaluation.config.values } },
    notes: [...notes, ...unreadNotes(production.written)],
  };
}

/**
 * kyma-module's own inputs: the cluster size (--cluster-size, else the file's `clusterSize`, else auto) and the Kyma
 * Istio resource (--istio-cr, else the file's `istioCustomResource`). Other profiles refuse both.
 */
function kymaModuleInputs(
  profile: ProfileName,
  file: JsonObject | undefined,
  opts: LoadConfigOptions,
): { setting: ClusterSizeSetting; overlay: IstioResourceOverlay } | undefined {
  const inFile = opts.configFile === undefined ? '' : ` in ${opts.configFile}`;
  const sizeSource = opts.clusterSize !== undefined ? '--cluster-size' : `clusterSize${inFile}`;
  const resourceSource =
    opts.istioCustomResource !== undefined
      ? opts.istioCustomResource.origin
      : opts.istioCustomResourceFile !== undefined
        ? `--istio-cr ${opts.istioCustomResourceFile}`
        : `istioCustomResource${inFile}`;
  const sizeGiven = opts.clusterSize ?? file?.clusterSize;
  if (profile !== 'kyma-module') {
    const onlyModule = `applies only to the kyma-module profile (the Kyma Istio module's sizes and resource); the profile is ${profile}`;
    if (sizeGiven !== undefined) throw new ConfigError('clusterSize', `${sizeSource} ${onlyModule}`);
    if (opts.istioCustomResource !== undefined || opts.istioCustomResourceFile !== undefined || file?.istioCustomResource !== undefined) throw new ConfigError('istioCustomResource', `${resourceSource} ${onlyModule}`);
    return undefined;
  }
  const setting = sizeGiven ?? 'auto';
  if (typeof setting !== 'string' || !(CLUSTER_SIZE_SETTINGS as readonly string[]).includes(setting)) {
    throw new ConfigError('clusterSize', `${sizeSource}: must be one of ${CLUSTER_SIZE_SETTINGS.join(', ')}; got ${show(setting)}`);
  }
  const resource =
    opts.istioCustomResource !== undefined
      ? parseYamlMap(opts.istioCustomResource.text, opts.istioCustomResource.origin).value
      : opts.istioCustomResourceFile !== undefined
        ? readYaml(opts.istioCustomResourceFile, 'Istio custom resource').value
        : (file?.istioCustomResource ?? undefined);
  if (resource !== undefined && resource !== null && !isPlainObject(resource)) {
    throw new ConfigError('istioCustomResource', `${resourceSource}: must be the Kyma Istio custom resource (a map); got ${show(resource)}`);
  }
  return { setting: setting as ClusterSizeSetting, overlay: istioResourceOverlay(resource ?? undefined) };
}

/**
 * The profile's configuration with the parts an Istio installation gives: the ConfigMaps' values (over the chart's
 * defaults) and mesh (over Istio's defaults) replace the profile's, an IstioOperator's are merged over them; the
 * injector's policy, selectors and injected annotations; istiod's native sidecar switch. Read as kube-inject, native
 * sidecars follow istioctl's own ENABLE_NATIVE_SIDECARS.
 */
function withInstallation(profile: InjectorConfig, installation: IstioInstallation | undefined, mode: IstioReadMode | undefined): InjectorConfig {
  if (installation === undefined) return profile;
  const { values = profile.values, meshConfig = profile.meshConfig, valuesOverlay = {}, meshOverlay = {}, injector, nativeSidecars } = installation;
  const out: InjectorConfig = { ...profile, values: deepMerge(values, valuesOverlay), meshConfig: deepMerge(meshConfig, meshOverlay), ...(injector ?? {}) };
  if (mode === 'kube-inject') out.nativeSidecars = process.env.ENABLE_NATIVE_SIDECARS === 'true';
  else if (nativeSidecars !== undefined) out.nativeSidecars = nativeSidecars;
  return out;
}

/** The configuration files of one load, each read once. */
interface ReadFiles {
  config: YamlMap | undefined;
  values: { name: string; doc: YamlMap }[];
  mesh: { name: string; doc: YamlMap }[];
}

/**
 * One configuration from a profile's built-in one: ← config file ← `--values` files ← `--mesh` files ← `--set`
 * overrides ← `--native-sidecars`, validated; with the operator's own values and meshConfig (for the notes).
 */
function buildConfig(base: InjectorConfig, files: ReadFiles, opts: LoadConfigOptions): { config: InjectorConfig; written: Draft } {
  const written: Draft = { values: {}, meshConfig: {} };
  // The profile shares nested objects with module constants: own a copy before anything mutates it.
  let draft: Draft = { ...base, values: cloneJson(base.values), meshConfig: cloneJson(base.meshConfig) };
  if (files.config && opts.configFile !== undefined) {
    textAsWritten(opts.configFile, 'config', files.config, [], draft);
    draft = applyConfigFile(draft, files.config.value, opts.configFile);
    for (const key of ['values', 'meshConfig'] as const) {
      const section = files.config.value[key];
      if (isPlainObject(section)) written[key] = deepMerge(written[key] as JsonObject, section);
    }
  }
  for (const { name, doc } of files.values) {
    textAsWritten(name, 'values', doc, ['values'], draft);
    draft.values = deepMerge(draft.values as JsonObject, doc.value);
    written.values = deepMerge(written.values as JsonObject, doc.value);
  }
  for (const { name, doc } of files.mesh) {
    textAsWritten(name, 'mesh', doc, ['meshConfig'], draft);
    draft.meshConfig = deepMerge(draft.meshConfig as JsonObject, doc.value);
    written.meshConfig = deepMerge(written.meshConfig as JsonObject, doc.value);
  }
  for (const expr of opts.sets ?? []) {
    const set = parseSet(expr);
    applySet(draft, set);
    if (set.path[0] === 'values' || set.path[0] === 'meshConfig') applySet(written, set);
  }
  if (opts.nativeSidecars !== undefined) draft.nativeSidecars = opts.nativeSidecars;
  if (opts.servedRevision !== undefined) draft.servedRevision = opts.servedRevision;
  draft.profile = base.profile;
  return { config: validateConfig(draft), written };
}

/** One note listing the keys Istio knows but the injector does not read, when the operator wrote any. */
function unreadNotes(written: Draft): string[] {
  const unread = [
    ...unreadIstioKeys('values', written.values as JsonObject),
    ...unreadIstioKeys('meshConfig', written.meshConfig as JsonObject),
  ];
  if (unread.length === 0) return [];
  return [`keys Istio knows but the injector does not read (they have no effect here): ${unread.join(', ')}`];
}

// ---- config file ------------------------------------------------------------------------------------------------

function profileOf(file: JsonObject | undefined, name: string | undefined): ProfileName | undefined {
  const p = file?.profile;
  if (p === undefined) return undefined;
  if (typeof p === 'string' && (PROFILE_NAMES as readonly string[]).includes(p)) return p as ProfileName;
  throw new ConfigError('profile', `in ${name}: must be one of ${PROFILE_NAMES.join(', ')}; got ${show(p)}`);
}

/**
 * `values`/`meshConfig` deep-merge over the profile; `safety` and `limits` merge key by key (a file that sets one
 * limit keeps the profile's other limits); every other key replaces the profile's value.
 */
function applyConfigFile(draft: Draft, file: JsonObject, name: string): Draft {
  const out: Draft = { ...draft };
  for (const [key, value] of Object.entries(file)) {
    if (!CONFIG_FILE_KEYS.includes(key)) {
      throw new ConfigError(key, `unknown key in ${name}; allowed top-level keys are ${CONFIG_FILE_KEYS.join(', ')}`);
    }
    // The profile and kyma-module's own inputs were read before the profile's configuration was built.
    if (key === 'profile' || key === 'clusterSize' || key === 'istioCustomResource' || value === undefined) continue;
    if (key === 'values' || key === 'meshConfig') {
      if (value === null) continue;
      if (!isPlainObject(value)) throw new ConfigError(key, `in ${name}: must be a map; got ${show(value)}`);
      out[key] = deepMerge(out[key] as JsonObject, value);
    } else if ((key === 'safety' || key === 'limits') && isPlainObject(value) && isPlainObject(out[key])) {
      out[key] = { ...(out[key] as JsonObject), ...value };
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** A plain YAML scalar read as a number or boolean: its key path in the file and the text as written. */
interface TypedScalar {
  path: string[];
  source: string;
  value: number | boolean;
}

interface YamlMap {
  value: JsonObject;
  typed: TypedScalar[];
}

/**
 * Text fields keep the text as written. In Helm values (untyped for Istio, printed by its template) an unquoted
 * `tag: 11` or `tag: 1.12` is a number whose text is what was written: it becomes that text, as Istio renders it
 * (TestProxyImage: tag 11 gives `proxyv2:11`). An unquoted `tag: 1.30` is the number 1.3 by YAML's rules, which
 * silently changes what was written, and MeshConfig's text fields are typed (Istio's proto decoding refuses a number
 * there): those are refused with the quoting that keeps the text (`"1.30"`). `prefix` places the file's keys in the configuration (`values`,
 * `meshConfig`, or the root for a config file); `draft` holds the values so far.
 */
function textAsWritten(file: string, what: string, doc: YamlMap, prefix: string[], draft: Draft): void {
  for (const { path, source, value } of doc.typed) {
    const full = [...prefix, ...path];
    if (!isTextField(full, valueAt(draft, full))) continue;
    if (full[0] === 'values' && source === String(value)) {
      setText(doc.value, path, source);
      continue;
    }
    throw new ConfigError(
      full.join('.'),
      `in ${what} file ${file}: must be text, but YAML reads ${source} as the ${typeof value} ${String(value)}; quote it as written: "${source}"`,
    );
  }
}

/** Replaces the scalar at `path` (a path {@link collectTypedScalars} found, so every map on the way exists). */
function setText(root: JsonObject, path: string[], text: string): void {
  let node: JsonObject = root;
  for (const key of path.slice(0, -1)) node = node[key] as JsonObject;
  node[path[path.length - 1] as string] = text;
}

/** Every plain (unquoted) scalar under string keys of maps that YAML resolved to a number or boolean. */
function collectTypedScalars(node: Node | null | undefined, path: string[], out: TypedScalar[]): void {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const value = pair.value as Node | null;
    if (isScalar(value)) {
      if ((typeof value.value === 'number' || typeof value.value === 'boolean') && value.type === 'PLAIN') {
        out.push({ path: [...path, key], source: typeof value.source === 'string' ? value.source : String(value.value), value: value.value });
      }
    } else {
      collectTypedScalars(value, [...path, key], out);
    }
  }
}

/** Reads a YAML file that must hold one mapping (an empty file is an empty map). */
function readYaml(file: string, what: string): YamlMap {
  return parseYamlMap(readText(file, what), `${what} file ${file}`);
}

/** {@link readYaml} of a text; `origin` names it in messages. */
function parseYamlMap(text: string, origin: string): YamlMap {
  const doc = parseDocument(text, { prettyErrors: true });
  const error = doc.errors[0];
  if (error) {
    const hint = error.code === 'MULTIPLE_DOCS' ? ' (put everything in a single YAML document)' : '';
    throw new ConfigError('', `${origin}: YAML syntax error: ${firstLine(error.message)}${hint}`);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return { value: {}, typed: [] };
  if (!isPlainObject(value)) {
    throw new ConfigError('', `${origin}: must contain a YAML map of keys; got ${show(value)}`);
  }
  const typed: TypedScalar[] = [];
  collectTypedScalars(doc.contents, [], typed);
  return { value, typed };
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('', `${what} file ${file} ${fileReadProblem(err)}`);
  }
}

/** The first line of a pretty YAML error ("... at line 4, column 1:"), without the source excerpt. */
function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? message).replace(/:$/, '');
}

// ---- --set ------------------------------------------------------------------------------------------------------

export interface SetOverride {
  /** The original `path=value` text, for error messages. */
  expr: string;
  path: string[];
  value: JsonValue;
  /** VALUE as written, kept when the field holds text and VALUE reads as a number or boolean. */
  text: string;
}

/**
 * Parses `a.b.c=V`. V is JSON when it parses as JSON (numbers, true/false, null, lists, maps, "quoted strings"),
 * otherwise the literal text. A number or boolean set on a field that holds text (src/config/stringFields.ts) is
 * kept as written when applied: `values.global.tag=1.30` is the tag `1.30`.
 */
export function parseSet(expr: string): SetOverride {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new ConfigError('', `--set ${JSON.stringify(expr)}: expected PATH=VALUE, e.g. values.global.tag='"1.30"'`);
  const pathText = expr.slice(0, eq).trim();
  const path = pathText.split('.');
  if (path.some((segment) => segment === '')) {
    throw new ConfigError(pathText, `--set ${expr}: empty path segment; write dot-separated keys like values.global.hub`);
  }
  const forbidden = path.find((segment) => FORBIDDEN_KEYS.has(segment));
  if (forbidden !== undefined) throw new ConfigError(pathText, `--set ${expr}: the key ${forbidden} is not allowed`);
  const text = expr.slice(eq + 1);
  return { expr, path, value: parseSetValue(text), text };
}

function parseSetValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** Top-level keys a flag sets, not `--set`. */
const FLAG_ONLY_KEYS: ReadonlyMap<string, string> = new Map([
  ['profile', '--profile'],
  ['clusterSize', '--cluster-size'],
  ['istioCustomResource', '--istio-cr FILE'],
]);

/** Replaces the value at the path, creating missing maps on the way. */
function applySet(draft: Draft, { expr, path, value, text }: SetOverride): void {
  const [top] = path;
  const flag = top === undefined ? undefined : FLAG_ONLY_KEYS.get(top);
  if (flag !== undefined) {
    throw new ConfigError(top!, `--set ${expr}: ${top === 'profile' ? 'the profile' : top} cannot be set with --set; use ${flag}`);
  }
  if (top === undefined || !isConfigKey(top)) {
    throw new ConfigError(path.join('.'), `--set ${expr}: unknown top-level key; use one of ${CONFIG_KEYS.filter((k) => !FLAG_ONLY_KEYS.has(k)).join(', ')}`);
  }
  let node: Draft = draft;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const child = Object.hasOwn(node, key) ? node[key] : undefined;
    if (child === undefined || child === null) {
      node[key] = {};
    } else if (!isPlainObject(child)) {
      const at = path.slice(0, i + 1).join('.');
      throw new ConfigError(
        at,
        `--set ${expr}: ${at} is ${show(child)}, not a map; set ${at}=<JSON> to replace it as a whole`,
      );
    }
    node = node[key] as Draft;
  }
  const last = path[path.length - 1] as string;
  const current = Object.hasOwn(node, last) ? node[last] : undefined;
  node[last] = (typeof value === 'number' || typeof value === 'boolean') && isTextField(path, current) ? text : value;
}
