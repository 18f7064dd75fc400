/**
 * An Istio installation's own configuration, read as Istio reads it (docs/configuration.md#istio-configuration):
 * - the istio-sidecar-injector ConfigMap's `config` (pkg/kube/inject: policy, selectors, injected annotations,
 *   templates) and `values` (the chart's values, JSON), each as the ConfigMap `kubectl get -o yaml` prints or as the
 *   key alone;
 * - the istio ConfigMap's `mesh` (MeshConfig), as the ConfigMap or the key alone;
 * - an IstioOperator (spec.profile, hub, tag, revision, values, meshConfig, components.cni), turned into values and
 *   mesh the way istioctl's MergeInputs and the istio-discovery chart do, and merged over the profile as Kyma merges
 *   an IstioOperator override onto its own (with the `istio` profile: over Istio's defaults, as istioctl installs it).
 * Precedence as istioctl kube-inject applies it: the IstioOperator's values replace `values`, its meshConfig (when it
 * has one) replaces `mesh`. The ConfigMaps' parts replace the parts of the profile they describe (src/config/load.ts).
 *
 * mesh-webhook renders Istio's `sidecar` template itself: a configuration that carries templates is accepted when its
 * `sidecar` template is the stock one mesh-webhook renders (src/config/istioInstallData.ts), and refused otherwise.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { createHash } from 'node:crypto';
import type { JsonObject, LabelSelector } from '../k8s/types.js';
import { fileReadProblem } from '../util/fileError.js';
import { isPlainObject } from '../util/json.js';
import { ISTIO_MESH_CONFIG, ISTIO_VALUES } from './istio-defaults.js';
import {
  ISTIO_CHART_PROFILES,
  ISTIO_OPERATOR_PROFILES,
  OTHER_STOCK_TEMPLATES,
  RENDERED_SIDECAR_TEMPLATE,
  STOCK_SIDECAR_TEMPLATES,
} from './istioInstallData.js';
import { knownIstioKeys } from './istioKeys.js';
import { deepMerge } from './merge.js';
import { ConfigError, type InjectionPolicy } from './types.js';
import { show } from './validate.js';

/** A configuration text that did not come from a file (a ConfigMap key read from the cluster). */
export interface TextSource {
  /** Where it came from, for messages: "ConfigMap istio-system/istio-sidecar-injector, key config". */
  readonly origin: string;
  readonly text: string;
}
export type IstioSource = { readonly file: string } | TextSource;

export interface IstioInputs {
  /** istio-sidecar-injector's `config` (inject.Config YAML), or the whole ConfigMap. */
  injector?: IstioSource;
  /** istio-sidecar-injector's `values` (JSON or YAML), or the whole ConfigMap. */
  values?: IstioSource;
  /** The istio ConfigMap's `mesh`, or the whole ConfigMap. */
  mesh?: IstioSource;
  /** An IstioOperator. */
  operator?: IstioSource;
}

/** The flag each input is given with, for messages about files. */
export const ISTIO_INPUT_FLAGS = {
  injector: '--injectConfigFile',
  values: '--valuesFile',
  mesh: '--meshConfigFile',
  operator: '--operatorFileName',
} as const satisfies Record<keyof IstioInputs, string>;

/** What the injector's `config` sets of mesh-webhook's configuration. */
export interface InjectorSection {
  policy: InjectionPolicy;
  neverInjectSelector: LabelSelector[];
  alwaysInjectSelector: LabelSelector[];
  injectedAnnotations: Record<string, string>;
}

/**
 * What an installation's configuration gives. The ConfigMaps describe istiod's injector whole: their parts replace
 * the profile's. An IstioOperator is an overlay, as Kyma merges an IstioOperator override onto its own and istioctl
 * onto Istio's defaults: its parts are merged over the profile's.
 */
export interface IstioInstallation {
  /** The chart's values as istiod's injector has them (the chart defaults under what was given). */
  values?: JsonObject;
  /** The effective MeshConfig (Istio's defaults under what was given). */
  meshConfig?: JsonObject;
  /** An IstioOperator's values, to merge over the profile's (or over {@link values}). */
  valuesOverlay?: JsonObject;
  /** An IstioOperator's mesh, to merge over the profile's (or over {@link meshConfig}). */
  meshOverlay?: JsonObject;
  injector?: InjectorSection;
  /** With values: their pilot.env.ENABLE_NATIVE_SIDECARS (istiod's switch; absent: auto, as istiod). */
  nativeSidecars?: boolean | 'auto';
  /** What the operator should know: keys left out, templates not rendered. */
  notes: string[];
}

/**
 * `webhook`: as istiod's injector reads the ConfigMaps. `kube-inject`: as `istioctl kube-inject` reads its files —
 * only the templates of `config` count (kube-inject injects with policy enabled, no selectors, no injected
 * annotations) and a file that is not an injection config is taken as the `sidecar` template itself.
 */
export type IstioReadMode = 'webhook' | 'kube-inject';

export function hasIstioInputs(inputs: IstioInputs | undefined): inputs is IstioInputs {
  return inputs !== undefined && Object.values(inputs).some((s) => s !== undefined);
}

/**
 * What is done with the templates of an injection configuration: `check` (the default) refuses a `sidecar` template
 * other than the one mesh-webhook renders; `ignore` does not compare them (the operator accepts mesh-webhook's
 * sidecar, e.g. in a cluster whose Istio upgrades itself) and says so in a note.
 */
export type IstioTemplatesChoice = 'check' | 'ignore';
export const ISTIO_TEMPLATES_CHOICES: readonly IstioTemplatesChoice[] = ['check', 'ignore'];

/** Reads and combines the inputs. Throws a {@link ConfigError} naming the input and the key. */
export function readIstioInstallation(inputs: IstioInputs, mode: IstioReadMode = 'webhook', templates: IstioTemplatesChoice = 'check'): IstioInstallation {
  const notes: string[] = [];
  const operator = inputs.operator && readOperator(textOf(inputs.operator, 'operator'), notes);
  const valuesText = inputs.values && configMapKey(textOf(inputs.values, 'values'), 'values');
  const meshText = inputs.mesh && configMapKey(textOf(inputs.mesh, 'mesh'), 'mesh');
  const installation: IstioInstallation = { notes };
  // The IstioOperator's values replace --valuesFile; its meshConfig, when it has one, replaces --meshConfigFile.
  if (operator) {
    installation.valuesOverlay = operator.values;
    const native = nativeSidecarsOf(operator.values);
    if (native !== undefined) installation.nativeSidecars = native;
    if (valuesText) notes.push(`${valuesText.origin} is not read: the IstioOperator's values take precedence, as in istioctl`);
  } else if (valuesText) {
    installation.values = deepMerge(ISTIO_VALUES, injectorValues(valuesText, notes));
    installation.nativeSidecars = nativeSidecarsOf(installation.values) ?? 'auto';
  }
  if (meshText && !operator?.givesMesh) installation.meshConfig = deepMerge(ISTIO_MESH_CONFIG, meshOf(meshText, notes));
  else if (operator) installation.meshOverlay = operator.meshConfig;
  if (operator?.givesMesh && meshText) notes.push(`${meshText.origin} is not read: the IstioOperator's meshConfig takes precedence, as in istioctl`);
  if (inputs.injector) {
    const section = injectorConfig(configMapKey(textOf(inputs.injector, 'injector'), 'config'), mode, templates, notes);
    if (section) installation.injector = section;
  }
  return installation;
}

// ---- texts -------------------------------------------------------------------------------------------------------

function textOf(source: IstioSource, input: keyof IstioInputs): TextSource {
  if (!('file' in source)) return source;
  const flag = ISTIO_INPUT_FLAGS[input];
  try {
    return { origin: `${flag} ${source.file}`, text: readFileSync(source.file, 'utf8') };
  } catch (err) {
    throw new ConfigError('', `${flag} file ${source.file} ${fileReadProblem(err)}`);
  }
}

/** The YAML documents of a text, as plain values; a syntax error names the origin and line. */
function documents({ origin, text }: TextSource): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const out: unknown[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) throw new ConfigError('', `${origin}: YAML syntax error: ${(error.message.split('\n', 1)[0] ?? '').replace(/:$/, '')}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    out.push(value);
  }
  return out;
}

/** The objects of the documents, List items included. */
function objectsOf(docs: unknown[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const doc of docs) {
    if (!isPlainObject(doc)) continue;
    if (doc.kind === 'List' && Array.isArray(doc.items)) out.push(...doc.items.filter(isPlainObject));
    else out.push(doc);
  }
  return out;
}

/**
 * The text of ConfigMap key `key` when the text holds ConfigMaps (as `kubectl get cm -o yaml` prints them, a List
 * or several documents), else the text itself (the key alone, as `kubectl get cm -o jsonpath` prints it).
 */
function configMapKey(source: TextSource, key: string): TextSource {
  // A quick look first: the key alone (values as JSON, a template) need not be YAML.
  if (!/^kind:\s*(ConfigMap|List)\b|"kind":\s*"(ConfigMap|List)"/m.test(source.text)) return source;
  let docs: unknown[];
  try {
    docs = documents(source);
  } catch {
    return source;
  }
  const configMaps = objectsOf(docs).filter((o) => o.kind === 'ConfigMap');
  if (configMaps.length === 0) return source;
  for (const cm of configMaps) {
    const data = cm.data;
    if (isPlainObject(data) && typeof data[key] === 'string') {
      const meta = isPlainObject(cm.metadata) ? cm.metadata : {};
      const name = [meta.namespace, meta.name].filter((p) => typeof p === 'string').join('/');
      return { origin: `${source.origin} (ConfigMap ${name || '(unnamed)'}, key ${key})`, text: data[key] };
    }
  }
  const names = configMaps.map((cm) => (isPlainObject(cm.metadata) ? String(cm.metadata.name) : '(unnamed)')).join(', ');
  throw new ConfigError('', `${source.origin}: no ConfigMap in it has the key ${key} (found ${names}); ${WHICH_CONFIGMAP[key] ?? ''}`);
}

const WHICH_CONFIGMAP: Record<string, string> = {
  config: 'give istiod\'s injector ConfigMap: kubectl get configmap istio-sidecar-injector -n istio-system -o yaml',
  values: 'give istiod\'s injector ConfigMap: kubectl get configmap istio-sidecar-injector -n istio-system -o yaml',
  mesh: 'give the mesh ConfigMap: kubectl get configmap istio -n istio-system -o yaml',
};

/** The one map a text must hold. */
function mapOf(source: TextSource, what: string): JsonObject {
  const docs = documents(source);
  if (docs.length > 1) throw new ConfigError('', `${source.origin}: expected one YAML document with ${what}; got ${docs.length}`);
  const value = docs[0] ?? {};
  if (!isPlainObject(value)) throw new ConfigError('', `${source.origin}: must be ${what} (a map); got ${show(value)}`);
  return value;
}

// ---- values and mesh ---------------------------------------------------------------------------------------------

function injectorValues(source: TextSource, notes: string[]): JsonObject {
  const { known, unknown } = knownIstioKeys('values', mapOf(source, "the injector's Helm values"));
  if (unknown.length > 0) notes.push(`${source.origin}: keys this version does not know (another Istio version?), ignored: ${unknown.join(', ')}`);
  return known;
}

function meshOf(source: TextSource, notes: string[]): JsonObject {
  const { known, unknown } = knownIstioKeys('meshConfig', mapOf(source, 'a MeshConfig'));
  if (unknown.length > 0) notes.push(`${source.origin}: MeshConfig keys this version does not know, ignored (istiod warns and ignores them too): ${unknown.join(', ')}`);
  return known;
}

/** istiod's ENABLE_NATIVE_SIDECARS (pilot/pkg/features): true, false, auto (the default); anything else is false. */
function nativeSidecarsOf(values: JsonObject): boolean | 'auto' | undefined {
  const env = isPlainObject(values.pilot) && isPlainObject(values.pilot.env) ? values.pilot.env : undefined;
  if (!env || !Object.hasOwn(env, 'ENABLE_NATIVE_SIDECARS')) return undefined;
  const v = String(env.ENABLE_NATIVE_SIDECARS);
  return v === 'true' ? true : v === 'auto' ? 'auto' : false;
}

// ---- the injector's config ---------------------------------------------------------------------------------------

/** inject.Config's keys; `template` is the legacy one Istio ignores. */
const INJECT_CONFIG_KEYS = new Set(['policy', 'defaultTemplates', 'templates', 'aliases', 'neverInjectSelector', 'alwaysInjectSelector', 'injectedAnnotations', 'template']);

function injectorConfig(source: TextSource, mode: IstioReadMode, templates: IstioTemplatesChoice, notes: string[]): InjectorSection | undefined {
  const ignoredNote = `${source.origin}: templates not compared (--injector-templates ignore): pods get the sidecar of Istio ${RENDERED_VERSION}, which mesh-webhook renders; mesh-webhook outdated --diff shows how it differs from istiod's`;
  let config: JsonObject | undefined;
  let problem = 'expected keys such as policy, templates, injectedAnnotations';
  try {
    const docs = documents(source);
    const first = docs[0];
    if (docs.length === 1 && isPlainObject(first) && Object.keys(first).some((k) => INJECT_CONFIG_KEYS.has(k))) config = first;
  } catch (err) {
    problem = (err as Error).message.replace(`config: ${source.origin}: `, '');
  }
  if (config === undefined) {
    // istioctl kube-inject takes a file that is not an injection config as the sidecar template itself.
    if (mode === 'kube-inject') {
      if (templates === 'check') checkSidecarTemplate(source.text, `${source.origin} (taken as the sidecar template, as istioctl does)`);
      else notes.push(ignoredNote);
      return undefined;
    }
    throw new ConfigError('', `${source.origin}: not an injection configuration (${problem}); ${WHICH_CONFIGMAP.config}`);
  }
  const unknown = Object.keys(config).filter((k) => !INJECT_CONFIG_KEYS.has(k));
  if (unknown.length > 0) notes.push(`${source.origin}: keys Istio's injector does not read either, ignored: ${unknown.join(', ')}`);
  if (templates === 'check') checkTemplates(config, source.origin, notes);
  else if (config.templates !== undefined || config.defaultTemplates !== undefined || config.aliases !== undefined) notes.push(ignoredNote);
  if (mode === 'kube-inject') return undefined;
  const at = (key: string) => `${source.origin}: ${key}`;
  // istiod's injectRequired: any policy but enabled or disabled, a missing one included, never injects (it logs
  // "Illegal value for autoInject"). Refused, so that no pod is silently left without a sidecar.
  const policy = config.policy;
  if (policy !== 'enabled' && policy !== 'disabled') {
    const got = policy === undefined || policy === null ? 'it is missing' : `got ${show(policy)}`;
    throw new ConfigError('policy', `${at('policy')} must be enabled or disabled; ${got} (istiod would log an error and never inject)`);
  }
  return {
    policy,
    neverInjectSelector: selectors(config.neverInjectSelector, at('neverInjectSelector')),
    alwaysInjectSelector: selectors(config.alwaysInjectSelector, at('alwaysInjectSelector')),
    injectedAnnotations: annotations(config.injectedAnnotations, at('injectedAnnotations')),
  };
}

function selectors(v: unknown, where: string): LabelSelector[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError('', `${where} must be a list of label selectors; got ${show(v)}`);
  return v as LabelSelector[];
}

function annotations(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw new ConfigError('', `${where} must be a map of annotations; got ${show(v)}`);
  return Object.fromEntries(Object.entries(v).map(([k, value]) => [k, typeof value === 'string' ? value : String(value)]));
}

/** The templates of a configuration: its `sidecar` template must be the one mesh-webhook renders. */
function checkTemplates(config: JsonObject, origin: string, notes: string[]): void {
  const defaults = config.defaultTemplates;
  if (defaults !== undefined && defaults !== null) {
    const list = Array.isArray(defaults) ? defaults : [defaults];
    if (list.length > 0 && (list.length !== 1 || list[0] !== 'sidecar')) {
      throw new ConfigError('defaultTemplates', `${origin}: defaultTemplates ${show(defaults)}: mesh-webhook renders only Istio's sidecar template; set defaultTemplates: [sidecar] (custom templates are a known gap, docs/configuration.md#istio-configuration)`);
    }
  }
  const aliases = config.aliases;
  if (isPlainObject(aliases) && Object.keys(aliases).length > 0) {
    throw new ConfigError('aliases', `${origin}: template aliases (${Object.keys(aliases).join(', ')}) are not supported: mesh-webhook renders only the sidecar template; remove aliases`);
  }
  const templates = config.templates;
  if (templates === undefined || templates === null) return;
  if (!isPlainObject(templates)) throw new ConfigError('templates', `${origin}: templates must be a map of name to template; got ${show(templates)}`);
  const names = Object.keys(templates);
  if (names.length === 0) return;
  if (!Object.hasOwn(templates, 'sidecar')) {
    throw new ConfigError('templates', `${origin}: templates has no sidecar template (it has ${names.join(', ')}): istiod would fail every injection; add Istio's stock sidecar template or remove templates`);
  }
  const sidecar = templates.sidecar;
  if (typeof sidecar !== 'string') throw new ConfigError('templates.sidecar', `${origin}: templates.sidecar must be a template text; got ${show(sidecar)}`);
  checkSidecarTemplate(sidecar, `${origin}: templates.sidecar`);
  const others = names.filter((n) => n !== 'sidecar');
  if (others.length > 0) {
    const custom = others.filter((n) => !OTHER_STOCK_TEMPLATES.includes(n));
    notes.push(
      `${origin}: templates mesh-webhook does not render (a pod asking for one with inject.istio.io/templates is refused; leave such pods to istiod): ${others.join(', ')}` +
        (custom.length > 0 ? ` (not stock Istio templates: ${custom.join(', ')})` : ''),
    );
  }
}

/**
 * A template's digest: SHA-256 of its text as Helm's `trim` leaves it, without line-end or trailing-space
 * differences (what a ConfigMap's YAML may change). tools/port-istio-install.mjs computes the stock ones with it.
 */
export function templateDigest(text: string): string {
  const normalized = text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
  return createHash('sha256').update(normalized).digest('hex');
}

const RENDERED_VERSION = STOCK_SIDECAR_TEMPLATES.find((t) => t.sha256 === RENDERED_SIDECAR_TEMPLATE)?.versions.at(-1) ?? 'unknown';

/** Accepts the stock sidecar template mesh-webhook renders; refuses another Istio version's, or a custom one. */
function checkSidecarTemplate(text: string, where: string): void {
  const hash = templateDigest(text);
  if (hash === RENDERED_SIDECAR_TEMPLATE) return;
  const stock = STOCK_SIDECAR_TEMPLATES.find((t) => t.sha256 === hash);
  const is = stock ? `is the stock template of Istio ${versionRange(stock.versions)}` : 'is not a stock Istio template (a custom template)';
  throw new ConfigError(
    'templates.sidecar',
    `${where} ${is}; mesh-webhook renders only Istio ${RENDERED_VERSION}'s sidecar template, which injects differently. ` +
      'Remove templates from the injector configuration (or give only --valuesFile and --meshConfigFile) to inject with the template mesh-webhook renders; docs/configuration.md#istio-configuration',
  );
}

function versionRange(versions: readonly string[]): string {
  return versions.length === 1 ? versions[0]! : `${versions[0]}–${versions.at(-1)}`;
}

// ---- IstioOperator -----------------------------------------------------------------------------------------------

/**
 * The IstioOperator as overlays of the injector's values and of the mesh; `givesMesh` when the resource has
 * spec.meshConfig (only then does it take precedence over a mesh file, as in istioctl).
 */
function readOperator(source: TextSource, notes: string[]): { values: JsonObject; meshConfig: JsonObject; givesMesh: boolean } {
  const operators = objectsOf(documents(source)).filter((o) => o.kind === 'IstioOperator');
  if (operators.length === 0) throw new ConfigError('', `${source.origin}: no IstioOperator in it (kind: IstioOperator, apiVersion: install.istio.io/v1alpha1)`);
  // istioctl's checkNoMultipleIOPs.
  if (operators.length > 1) throw new ConfigError('', `${source.origin}: contains multiple IstioOperator CRs, only one per file is supported`);
  const spec = operators[0]!.spec ?? {};
  if (!isPlainObject(spec)) throw new ConfigError('spec', `${source.origin}: spec must be a map; got ${show(spec)}`);
  const at = (key: string) => `${source.origin}: spec.${key}`;

  // istioctl's MergeInputs: the 'default' profile, the named one over it, the resource over both.
  const profileName = spec.profile ?? 'default';
  if (typeof profileName !== 'string' || !Object.hasOwn(ISTIO_OPERATOR_PROFILES, profileName)) {
    throw new ConfigError('spec.profile', `${at('profile')}: profile ${show(profileName)} not found; Istio's profiles are ${Object.keys(ISTIO_OPERATOR_PROFILES).join(', ')}`);
  }
  const base = ISTIO_OPERATOR_PROFILES.default!;
  const profile = ISTIO_OPERATOR_PROFILES[profileName]!;
  const userValues = spec.values ?? {};
  if (!isPlainObject(userValues)) throw new ConfigError('spec.values', `${at('values')} must be a map; got ${show(userValues)}`);
  let values = deepMerge(deepMerge(base.values, profile.values), userValues);
  // translateIstioOperatorToHelm: spec.hub/tag/revision/compatibilityVersion become values, spec.meshConfig values.meshConfig.
  const translations: [string, string[]][] = [
    ['hub', ['global', 'hub']],
    ['tag', ['global', 'tag']],
    ['revision', ['revision']],
    ['compatibilityVersion', ['compatibilityVersion']],
  ];
  for (const [key, path] of translations) {
    const v = spec[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`spec.${key}`, `${at(key)} must be text; got ${show(v)}`);
    values = deepMerge(values, nest(path, String(v)));
  }
  const userMesh = spec.meshConfig;
  if (userMesh !== undefined && userMesh !== null && !isPlainObject(userMesh)) throw new ConfigError('spec.meshConfig', `${at('meshConfig')} must be a map; got ${show(userMesh)}`);
  if (isPlainObject(userMesh)) values = deepMerge(values, { meshConfig: userMesh });
  const components = isPlainObject(spec.components) ? spec.components : {};
  const cni = isPlainObject(components.cni) ? components.cni.enabled : profile.cniEnabled;
  if (typeof cni === 'boolean') values = deepMerge(values, { pilot: { cni: { enabled: cni } } });
  // User values win over the translations (istioctl applies them once more).
  values = deepMerge(values, userValues);

  // The chart: its profile (values.profile), compatibility version and platform under the values.
  const overlay = deepMerge(chartProfile(values, source.origin), values);
  const { known, unknown } = knownIstioKeys('values', injectorPart(overlay));
  if (unknown.length > 0) notes.push(`${source.origin}: values keys this version does not know, ignored: ${unknown.join(', ')}`);
  const meshValues = isPlainObject(overlay.meshConfig) ? overlay.meshConfig : {};
  const mesh = knownIstioKeys('meshConfig', deepMerge(chartMesh(overlay), meshValues));
  if (mesh.unknown.length > 0) notes.push(`${source.origin}: meshConfig keys this version does not know, ignored: ${mesh.unknown.join(', ')}`);
  return { values: known, meshConfig: mesh.known, givesMesh: isPlainObject(userMesh) };
}

function nest(path: string[], value: string): JsonObject {
  return path.reduceRight<JsonObject>((inner, key, i) => ({ [key]: i === path.length - 1 ? value : inner }), {});
}

/** zzz_profile.yaml: the chart profile named by values.profile, then compatibilityVersion, then platform. */
function chartProfile(values: JsonObject, origin: string): JsonObject {
  const global = isPlainObject(values.global) ? values.global : {};
  let out: JsonObject = {};
  const pick = (kind: string, name: unknown, file: string) => {
    if (name === undefined || name === null || name === '') return;
    const profile = Object.hasOwn(ISTIO_CHART_PROFILES, file) ? ISTIO_CHART_PROFILES[file] : undefined;
    if (!profile) throw new ConfigError(`values.${kind}`, `${origin}: unknown ${kind} ${show(name)} (the istio-discovery chart has no ${file}.yaml)`);
    out = deepMerge(out, profile);
  };
  const profile = values.profile || global.profile;
  pick('profile', profile, String(profile));
  pick('compatibilityVersion', values.compatibilityVersion, `compatibility-version-${String(values.compatibilityVersion)}`);
  const platform = values.platform || global.platform;
  pick('platform', platform, `platform-${String(platform)}`);
  return out;
}

/** istiod-injector-configmap.yaml's pick: what the injector's `values` carry, with the meshConfig for the mesh. */
function injectorPart(values: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of ['global', 'sidecarInjectorWebhook', 'revision']) if (values[key] !== undefined) out[key] = values[key]!;
  const pilot = isPlainObject(values.pilot) ? values.pilot : {};
  out.pilot = Object.fromEntries(['cni', 'env'].filter((k) => pilot[k] !== undefined).map((k) => [k, pilot[k]!]));
  const gateways = isPlainObject(values.gateways) ? values.gateways : {};
  out.gateways = Object.fromEntries(['securityContext', 'seccompProfile'].filter((k) => gateways[k] !== undefined).map((k) => [k, gateways[k]!]));
  return out;
}

/**
 * The fields of the chart's `mesh` define (configmap.yaml) the injector reads, as far as the IstioOperator's values
 * change them from a default installation's: the discovery address (revision, namespace), mesh ID, image type, tracer.
 */
function chartMesh(values: JsonObject): JsonObject {
  const global = isPlainObject(values.global) ? values.global : {};
  const proxy = isPlainObject(global.proxy) ? global.proxy : {};
  const namespace = typeof global.istioNamespace === 'string' && global.istioNamespace !== '' ? global.istioNamespace : 'istio-system';
  const revision = typeof values.revision === 'string' ? values.revision : '';
  const defaultConfig: JsonObject = {};
  if (revision !== '' || namespace !== 'istio-system') defaultConfig.discoveryAddress = `istiod${revision ? `-${revision}` : ''}.${namespace}.svc:15012`;
  if (typeof global.meshID === 'string' && global.meshID !== '') defaultConfig.meshId = global.meshID;
  const variant = proxy.variant || global.variant;
  if (typeof variant === 'string' && variant !== '') defaultConfig.image = { imageType: variant };
  const tracer = proxy.tracer;
  const tracerValues = isPlainObject(global.tracer) ? global.tracer : {};
  const address = (name: string, fallback: string) => {
    const t = tracerValues[name];
    return isPlainObject(t) && typeof t.address === 'string' && t.address !== '' ? t.address : fallback;
  };
  if (tracer === 'zipkin') defaultConfig.tracing = { zipkin: { address: address('zipkin', `zipkin.${namespace}:9411`) } };
  else if (tracer === 'datadog') defaultConfig.tracing = { datadog: { address: address('datadog', '$(HOST_IP):8126') } };
  return { ...(namespace !== 'istio-system' ? { rootNamespace: namespace } : {}), ...(Object.keys(defaultConfig).length > 0 ? { defaultConfig } : {}) };
}
