/**
 * What a pod may ask of the injector, within the operator's limits (config key `safety`; docs/security.md, "Injection safety"):
 *
 * - before injecting, on the annotations: `sidecar.istio.io/proxyImage` only from allowed image prefixes (MW0601),
 *   `sidecar.istio.io/userVolume` without forbidden volume types (MW0602);
 * - after injecting, on the injected containers of the final pod (istio-init, istio-validation, istio-proxy,
 *   enable-core-dump, wherever they sit), whatever path changed them (annotations, declared containers,
 *   `proxy.istio.io/overrides`, a path nobody listed): images from allowed prefixes (MW0605), no privilege beyond what
 *   the operator's own configuration gives the container (MW0603), the template's commands in the containers that
 *   run with privileges (MW0604), no forbidden environment variable set by the pod (MW0606).
 *
 * The injector rejects the pod when any of these fails, and the validator reports the same codes. The injector never
 * reads files or reaches the network on behalf of an annotation: annotations are data.
 */
import type { SafetySettings } from '../config/types.js';
import type { Container, EnvVar, Pod } from '../k8s/types.js';
import { A, quoteValue, type AnnotationProblem } from './annotations.js';
import { CORE_DUMP_CONTAINER, INIT_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER } from './containers.js';
import type { Overrides } from './overrides.js';
import { containerPrivileges, describePrivileges, isPrivileged, NO_PRIVILEGES, privilegesBeyond, type Privileges } from './privileges.js';
import type { TemplatePod } from './template.js';
import { parseUserVolumes } from './userVolumes.js';

/** The names of the containers Istio's injector adds (enable-core-dump: Istio before 1.24, and this template). */
export const INJECTED_CONTAINER_NAMES: ReadonlySet<string> = new Set([INIT_CONTAINER, VALIDATION_CONTAINER, PROXY_CONTAINER, CORE_DUMP_CONTAINER]);

/** What the operator's own configuration makes the template produce, computed once per configuration. */
export interface OperatorTemplate {
  /** Every image the operator's configuration can name (proxy and init image, for each image type). */
  images: readonly string[];
  /** The privileges of each container the operator's template injects, by name. */
  privileges: ReadonlyMap<string, Privileges>;
  /** meshConfig.defaultConfig.proxyMetadata: the operator's environment for istio-init and istio-proxy. */
  proxyMetadata: Readonly<Record<string, string>>;
}

export interface SafetyRules {
  allowedPrefixes: readonly string[];
  /** The prefixes with their `/` (what image references are matched against). */
  prefixMatches: readonly string[];
  /** `*` among the prefixes: every image is allowed (no image check at all). */
  anyImage: boolean;
  operatorImages: ReadonlySet<string>;
  forbiddenVolumeTypes: ReadonlySet<string>;
  limitPrivileges: boolean;
  lockCommands: boolean;
  forbiddenEnvNames: ReadonlySet<string>;
  forbiddenEnvPrefixes: readonly string[];
  stripOnlyInjected: boolean;
  operator: OperatorTemplate;
}

const EMPTY_OPERATOR: OperatorTemplate = { images: [], privileges: new Map(), proxyMetadata: {} };

export function compileSafety(safety: SafetySettings, hub: string, operator: OperatorTemplate = EMPTY_OPERATOR): SafetyRules {
  const prefixes = safety.allowedProxyImagePrefixes.length > 0 ? safety.allowedProxyImagePrefixes : [hub];
  const allowedPrefixes = prefixes.map((p) => p.replace(/\/+$/, '')).filter(Boolean);
  const env = safety.forbiddenInjectedEnv ?? [];
  return {
    allowedPrefixes,
    prefixMatches: allowedPrefixes.map((p) => `${p}/`),
    anyImage: allowedPrefixes.includes('*'),
    operatorImages: new Set(operator.images),
    forbiddenVolumeTypes: new Set(safety.forbiddenUserVolumeTypes),
    limitPrivileges: safety.limitInjectedPrivileges === true,
    lockCommands: safety.lockInjectedCommands === true,
    forbiddenEnvNames: new Set(env.filter((n) => !n.endsWith('*'))),
    forbiddenEnvPrefixes: env.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1)),
    stripOnlyInjected: safety.stripOnlyInjectedContainers === true,
    operator,
  };
}

/** Whether any check of the final pod is on (none is in the istio profile: nothing to compute per request). */
export function checksInjectedPod(rules: SafetyRules): boolean {
  return !rules.anyImage || rules.limitPrivileges || rules.lockCommands || rules.forbiddenEnvNames.size > 0 || rules.forbiddenEnvPrefixes.length > 0;
}

function imageAllowed(image: string, rules: SafetyRules): boolean {
  if (rules.anyImage || rules.operatorImages.has(image)) return true;
  for (const p of rules.prefixMatches) if (image.startsWith(p)) return true;
  return false;
}

function allowedImagesText(rules: SafetyRules): string {
  return rules.allowedPrefixes.join(', ') || 'the configured hub';
}

export interface SafetyProblem extends AnnotationProblem {
  code: 'MW0601' | 'MW0602';
}

export function safetyProblems(annotations: Record<string, string> | undefined, rules: SafetyRules): SafetyProblem[] {
  if (!annotations) return [];
  const problems: SafetyProblem[] = [];
  const image = annotations[A.proxyImage];
  // Without a '/', the annotation does not name an image and the configured image is used (Istio's rule).
  if (image !== undefined && image.includes('/') && !imageAllowed(image, rules)) {
    problems.push({
      code: 'MW0601',
      annotation: A.proxyImage,
      value: image,
      problem: `proxy images must come from ${allowedImagesText(rules)} (safety.allowedProxyImagePrefixes)`,
    });
  }
  const volumes = annotations[A.userVolume];
  if (volumes !== undefined && rules.forbiddenVolumeTypes.size > 0) {
    const entries = parseUserVolumes(volumes);
    // Not a valid value: the annotation validator reports it.
    for (const { value } of typeof entries === 'string' ? [] : entries) {
      const forbidden = Object.keys(value).filter((t) => rules.forbiddenVolumeTypes.has(t));
      if (forbidden.length > 0) {
        problems.push({
          code: 'MW0602',
          annotation: A.userVolume,
          value: volumes,
          problem: `volume '${quoteValue(value.name)}' uses ${forbidden.join(', ')}, which the operator does not allow (safety.forbiddenUserVolumeTypes)`,
        });
      }
    }
  }
  return problems;
}

// ---- the injected containers of the final pod --------------------------------------------------------------------

/** One problem with the injected pod: the MW code, where the pod asked for it (a path in the pod), one-line message. */
export interface InjectionProblem {
  code: 'MW0603' | 'MW0604' | 'MW0605' | 'MW0606';
  /** Path in the pod of what asked for it: `metadata.annotations["..."]`, `spec.initContainers[0]`, or `spec`. */
  path: string;
  message: string;
}

/** What the injector knows about where the injected containers came from (for the checks and their messages). */
export interface InjectedPodFacts {
  /** The pod as the request had it. */
  original: Pod;
  /** The pod the injector produced. */
  final: Pod;
  /** The template rendered for this pod (before declared containers and overrides were applied). */
  template: TemplatePod;
  annotations: Record<string, string>;
  /** The declared containers or `proxy.istio.io/overrides` applied on top of the template. */
  overrides: Overrides;
  /** Whether `overrides` came from the pod's `proxy.istio.io/overrides` (else from its declared containers). */
  overridesFromAnnotation: boolean;
  /** proxyMetadata of the pod's own `proxy.istio.io/config`, when it has one. */
  podProxyMetadata: Record<string, unknown> | undefined;
  /** The pod's own `proxy.istio.io/config`, parsed, when it has one. */
  podProxyConfig?: Record<string, unknown> | undefined;
  /** Environment variable names `apm.datadoghq.com/env` put into istio-proxy. */
  datadogEnv: readonly string[];
  /** Environment the webhook URL gave istio-proxy (`/inject/cluster/X/net/Y`): the operator's. */
  clusterEnv: Readonly<Record<string, string>>;
}

interface Cause {
  path: string;
  text: string;
}

const annotationPath = (name: string) => `metadata.annotations["${name}"]`;
const annotationCause = (name: string, value?: string): Cause => ({
  path: annotationPath(name),
  text: value === undefined ? `annotation ${name}` : `annotation ${name}=${quoteValue(value)}`,
});

/** Where the pod declared a container of this name, or the overrides annotation naming it. */
function overrideCause(name: string, f: InjectedPodFacts): Cause | undefined {
  const listed = [...f.overrides.containers, ...f.overrides.initContainers].some((c) => c.name === name);
  if (!listed) return undefined;
  if (f.overridesFromAnnotation) return { path: annotationPath(A.overrides), text: `annotation ${A.overrides} (its ${name} entry)` };
  for (const field of ['initContainers', 'containers'] as const) {
    const i = (f.original.spec?.[field] ?? []).findIndex((c) => c.name === name);
    if (i >= 0) return { path: `spec.${field}[${i}]`, text: `the pod's own ${name} container (spec.${field}[${i}])` };
  }
  return undefined;
}

function overrideOf(name: string, f: InjectedPodFacts): Container | undefined {
  return [...f.overrides.containers, ...f.overrides.initContainers].find((c) => c.name === name);
}

const FALLBACK_CAUSE: Cause = { path: 'spec', text: "the pod's settings" };

/** The pod settings that can give container `name` privileges, most specific first. */
function privilegeCauses(name: string, f: InjectedPodFacts): Cause[] {
  const out: Cause[] = [];
  const own = overrideCause(name, f);
  const ownOverride = overrideOf(name, f);
  if (own && ownOverride && (ownOverride.securityContext !== undefined || ownOverride.ports !== undefined)) out.push(own);
  const ann = f.annotations;
  if (name === PROXY_CONTAINER) {
    if (ann[A.interceptionMode] === 'TPROXY') out.push(annotationCause(A.interceptionMode, 'TPROXY'));
    if (ann[A.capNetBindService] === 'true') out.push(annotationCause(A.capNetBindService, 'true'));
    if (f.podProxyMetadata?.IPTABLES_TRACE_LOGGING === 'true') out.push({ path: annotationPath(A.proxyConfig), text: `annotation ${A.proxyConfig} (proxyMetadata IPTABLES_TRACE_LOGGING)` });
  }
  if (name === INIT_CONTAINER && Object.hasOwn(ann, A.interceptionMode)) out.push(annotationCause(A.interceptionMode, ann[A.interceptionMode]));
  if (name === VALIDATION_CONTAINER) {
    const proxy = overrideCause(PROXY_CONTAINER, f);
    if (proxy) out.push({ ...proxy, text: `${proxy.text}, whose runAsUser/runAsGroup istio-validation takes` });
  }
  if (name === CORE_DUMP_CONTAINER && Object.hasOwn(ann, A.enableCoreDump)) out.push(annotationCause(A.enableCoreDump, ann[A.enableCoreDump]));
  const appArmor = `container.apparmor.security.beta.kubernetes.io/${name}`;
  if (Object.hasOwn(ann, appArmor)) out.push(annotationCause(appArmor, ann[appArmor]));
  if (own && !out.includes(own)) out.push(own);
  return out.length > 0 ? out : [FALLBACK_CAUSE];
}

function causeText(causes: readonly Cause[]): string {
  return causes.map((c) => c.text).join(' and ');
}

const json = (v: unknown): string => JSON.stringify(v) ?? 'nothing';

/** JSON equality; untouched template parts are the very same objects in the final pod, so identity decides most. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao).filter((k) => ao[k] !== undefined);
  if (keys.length !== Object.keys(bo).filter((k) => bo[k] !== undefined).length) return false;
  for (const k of keys) if (!Object.hasOwn(bo, k) || !same(ao[k], bo[k])) return false;
  return true;
}

/** args equal but for the value after `-u` (istio-iptables' proxy UID, which a declared istio-proxy's runAsUser sets). */
function sameArgs(actual: unknown, template: readonly string[] | undefined): boolean {
  if (actual === template) return true;
  if (!Array.isArray(actual) || !template) return same(actual, template);
  if (actual.length !== template.length) return false;
  for (let i = 0; i < template.length; i++) {
    if (actual[i] === template[i]) continue;
    if (i > 0 && template[i - 1] === '-u' && actual[i - 1] === '-u' && typeof actual[i] === 'string' && /^[1-9]\d{0,9}$/.test(actual[i] as string)) continue;
    return false;
  }
  return true;
}

/** Paths whose files decide what a container executes: its programs, libraries and the loader's configuration. */
const PROGRAM_PATHS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/usr', '/etc/ld.so.preload', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/ld.so.cache'];

function shadowsPrograms(mountPath: unknown): boolean {
  if (typeof mountPath !== 'string') return true;
  const p = `/${mountPath.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
  if (mountPath.split('/').includes('..')) return true;
  return PROGRAM_PATHS.some((q) => p === q || p.startsWith(`${q}/`) || q.startsWith(p === '/' ? '/' : `${p}/`));
}

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const HOOKS = ['postStart', 'preStop'] as const;

/** What a locked container runs that the template does not: `[what, detail]` pairs. */
function commandChanges(actual: Container, template: Container): [string, string][] {
  const out: [string, string][] = [];
  if (!same(actual.command, template.command)) out.push(['command', json(actual.command)]);
  if (!sameArgs(actual.args, template.args)) out.push(['args', json(actual.args)]);
  for (const hook of HOOKS) {
    const a = (actual.lifecycle as Record<string, { exec?: unknown } | undefined> | undefined)?.[hook]?.exec;
    const t = (template.lifecycle as Record<string, { exec?: unknown } | undefined> | undefined)?.[hook]?.exec;
    if (!same(a, t)) out.push([`lifecycle.${hook}.exec`, json(a)]);
  }
  for (const probe of PROBES) {
    const a = (actual[probe] as { exec?: unknown } | undefined)?.exec;
    const t = (template[probe] as { exec?: unknown } | undefined)?.exec;
    if (!same(a, t)) out.push([`${probe}.exec`, json(a)]);
  }
  for (const m of Array.isArray(actual.volumeMounts) ? actual.volumeMounts : []) {
    const mountPath = (m as { mountPath?: unknown } | null)?.mountPath;
    if (shadowsPrograms(mountPath)) out.push(['a volume mounted over its programs', `at ${json(mountPath)}`]);
  }
  if (Array.isArray(actual.volumeDevices) && actual.volumeDevices.length > 0 && !Array.isArray(template.volumeDevices)) {
    out.push(['volumeDevices', json(actual.volumeDevices)]);
  }
  return out;
}

/**
 * ProxyConfig fields and annotations that choose what pilot-agent executes or feeds Envoy in istio-proxy (the
 * program, the bootstrap template, a whole bootstrap): a pod must not choose them for a privileged proxy.
 */
const PROGRAM_FIELDS = ['binaryPath', 'proxyBootstrapTemplatePath', 'customConfigFile'];

function proxyProgramChanges(f: InjectedPodFacts): [string, string][] {
  const out: [string, string][] = [];
  for (const field of PROGRAM_FIELDS) {
    const value = f.podProxyConfig?.[field];
    if (value !== undefined && value !== null) out.push([`ProxyConfig ${field}`, json(value)]);
  }
  if (Object.hasOwn(f.annotations, A.bootstrapOverride)) out.push(['a bootstrap override', json(f.annotations[A.bootstrapOverride])]);
  return out;
}

function commandCauses(name: string, what: string, f: InjectedPodFacts): Cause[] {
  if (what.startsWith('ProxyConfig ')) return [annotationCause(A.proxyConfig)];
  if (what === 'a bootstrap override') return [annotationCause(A.bootstrapOverride)];
  const own = overrideCause(name, f);
  if (own) return [own];
  if (what.startsWith('a volume') && name === PROXY_CONTAINER && Object.hasOwn(f.annotations, A.userVolumeMount)) return [annotationCause(A.userVolumeMount)];
  return [FALLBACK_CAUSE];
}

function envForbidden(name: string, rules: SafetyRules): boolean {
  if (rules.forbiddenEnvNames.has(name)) return true;
  for (const p of rules.forbiddenEnvPrefixes) if (name.startsWith(p)) return true;
  return false;
}

/** Forbidden environment entries the pod set or changed, by where they came from: cause → container → names. */
type EnvFindings = Map<string, { cause: Cause; containers: Map<string, string[]> }>;

function noteEnv(found: EnvFindings, cause: Cause, container: string, envName: string): void {
  let entry = found.get(cause.text);
  if (!entry) found.set(cause.text, (entry = { cause, containers: new Map() }));
  const names = entry.containers.get(container) ?? [];
  if (!names.includes(envName)) names.push(envName);
  entry.containers.set(container, names);
}

function collectEnv(found: EnvFindings, name: string, actual: Container, template: Container, f: InjectedPodFacts, rules: SafetyRules): InjectionProblem[] {
  const operatorMeta = rules.operator.proxyMetadata;
  let templateEnv: Map<string, EnvVar> | undefined;
  for (const e of Array.isArray(actual.env) ? (actual.env as EnvVar[]) : []) {
    const envName = typeof e?.name === 'string' ? e.name : '';
    if (!envForbidden(envName, rules)) continue;
    const fromPodConfig =
      f.podProxyMetadata !== undefined && Object.hasOwn(f.podProxyMetadata, envName) && !(Object.hasOwn(operatorMeta, envName) && operatorMeta[envName] === f.podProxyMetadata[envName]);
    if (fromPodConfig) {
      noteEnv(found, { path: annotationPath(A.proxyConfig), text: `annotation ${A.proxyConfig} (proxyMetadata)` }, name, envName);
      continue;
    }
    if (name === PROXY_CONTAINER && f.datadogEnv.includes(envName)) {
      noteEnv(found, annotationCause(A.datadogEnv), name, envName);
      continue;
    }
    templateEnv ??= new Map((template.env ?? []).map((t) => [t.name, t]));
    const reference = name === PROXY_CONTAINER && Object.hasOwn(f.clusterEnv, envName) ? { name: envName, value: f.clusterEnv[envName] } : templateEnv.get(envName);
    if (reference !== undefined && same(reference, e)) continue;
    noteEnv(found, overrideCause(name, f) ?? FALLBACK_CAUSE, name, envName);
  }
  const envFrom = actual.envFrom;
  if (Array.isArray(envFrom) ? envFrom.length > 0 : envFrom !== undefined && envFrom !== null) {
    const cause = overrideCause(name, f) ?? FALLBACK_CAUSE;
    return [
      {
        code: 'MW0606',
        path: cause.path,
        message: `injected container ${name}: envFrom set by ${cause.text} can set any environment variable, including ones pods may not set; list the variables under env instead (safety.forbiddenInjectedEnv)`,
      },
    ];
  }
  return [];
}

/** One problem per cause: `injected containers istio-init and istio-proxy: environment variable LD_PRELOAD set by ...`. */
function envMessages(found: EnvFindings): InjectionProblem[] {
  const out: InjectionProblem[] = [];
  for (const { cause, containers } of found.values()) {
    const names = [...new Set([...containers.values()].flat())];
    const where = [...containers.keys()];
    const one = names.length === 1;
    out.push({
      code: 'MW0606',
      path: cause.path,
      message: `injected ${where.length === 1 ? 'container' : 'containers'} ${where.join(' and ')}: ${one ? 'environment variable' : 'environment variables'} ${quoteValue(names.join(', '))} set by ${cause.text} ${one ? 'is one' : 'are ones'} pods may not set (they change the loader, the proxy's identity or what istio-iptables captures); remove ${one ? 'it' : 'them'}, or ask the operator (safety.forbiddenInjectedEnv)`,
    });
  }
  return out;
}

function findIn(list: readonly Container[] | undefined, name: string): Container | undefined {
  return list?.find((c) => c.name === name);
}

/**
 * The problems of the injected containers of `f.final` under `rules` (empty: the pod may be injected). Only the
 * containers the template produced for this pod are checked, wherever they ended up (containers or initContainers).
 */
export function injectedPodProblems(f: InjectedPodFacts, rules: SafetyRules): InjectionProblem[] {
  const problems: InjectionProblem[] = [];
  const templateContainers = [...f.template.spec.initContainers, ...f.template.spec.containers];
  const spec = f.final.spec ?? {};
  const checkEnv = rules.forbiddenEnvNames.size > 0 || rules.forbiddenEnvPrefixes.length > 0;
  const env: EnvFindings = new Map();
  for (const template of templateContainers) {
    const name = template.name;
    const actual = findIn(spec.initContainers, name) ?? findIn(spec.containers, name);
    if (!actual) continue;

    if (!rules.anyImage && typeof actual.image === 'string' && !imageAllowed(actual.image, rules)) {
      const cause = overrideCause(name, f) ?? (f.annotations[A.proxyImage] !== undefined ? annotationCause(A.proxyImage) : FALLBACK_CAUSE);
      problems.push({
        code: 'MW0605',
        path: cause.path,
        message: `injected container ${name}: image '${quoteValue(actual.image)}' set by ${cause.text} does not come from ${allowedImagesText(rules)}; use image: auto (the injected image) or one from there (safety.allowedProxyImagePrefixes)`,
      });
    }

    const privileges = rules.limitPrivileges || rules.lockCommands ? containerPrivileges(actual, f.final) : undefined;
    if (rules.limitPrivileges && privileges) {
      const allowed = rules.operator.privileges.get(name);
      const beyond = privilegesBeyond(privileges, allowed ?? NO_PRIVILEGES);
      if (beyond.length > 0) {
        const causes = privilegeCauses(name, f);
        problems.push({
          code: 'MW0603',
          path: causes[0]!.path,
          message: `injected container ${name} would run ${beyond.join(', ')}, beyond what the operator's configuration gives it (${describePrivileges(allowed)}); set by ${causeText(causes)}: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)`,
        });
      }
    }

    if (rules.lockCommands && privileges && (name !== PROXY_CONTAINER || isPrivileged(privileges))) {
      const changes = commandChanges(actual, template);
      if (name === PROXY_CONTAINER) changes.push(...proxyProgramChanges(f));
      for (const [what, detail] of changes) {
        const causes = commandCauses(name, what, f);
        problems.push({
          code: 'MW0604',
          path: causes[0]!.path,
          message: `injected container ${name}${name === PROXY_CONTAINER ? ' (which runs with privileges)' : ''}: ${what} ${quoteValue(detail)} set by ${causeText(causes)} would change what it runs; pods may not change what privileged injected containers run (safety.lockInjectedCommands)`,
        });
      }
    }

    if (checkEnv) problems.push(...collectEnv(env, name, actual, template, f, rules));
  }
  if (env.size > 0) problems.push(...envMessages(env));
  return problems;
}

/** Privileges of every container of the operator's template, by name. */
export function templatePrivileges(template: TemplatePod): Map<string, Privileges> {
  const out = new Map<string, Privileges>();
  for (const c of [...template.spec.initContainers, ...template.spec.containers]) out.set(c.name, containerPrivileges(c, undefined));
  return out;
}
