/**
 * The injector: decision, then Istio's sidecar template, merge, user overrides and post-processing, as a pure function
 * of (pod, compiled config). The webhook, the CLI and the tests all call `createInjector(config).inject(request)`.
 */
import type { ClusterView } from '../cluster/view.js';
import { autoClusterSize } from '../config/kymaModule.js';
import type { InjectorConfig } from '../config/types.js';
import { ConfigError } from '../config/types.js';
import type { Container, EnvVar, JsonObject, Pod } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';
import type { InjectionOutcome, InjectionRequest, Injector, PodSubject, RejectionCategory } from './api.js';
import { CORE_DUMP_CONTAINER, findProxy, INIT_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER } from './containers.js';
import { describeResourceConflict, injectedResourceProblem, resourceConflicts } from './resourceAnnotations.js';
import { A, L, describeAnnotationProblem, parseGoBool, quoteValue, validateInjectionAnnotations } from './annotations.js';
import { servedSelection, traceInjection, type ServedSelection } from './decision.js';
import { deployMetaFromPod, podNamespace, type DeployMeta } from './deployMeta.js';
import { sidecarImage } from './images.js';
import {
  adjustInitContainerUser,
  overridesJson,
  parseOverrides,
  parseStatus,
  reapplyOverwrittenContainers,
  reinsertOverrides,
  type Overrides,
} from './overrides.js';
import { buildPatch } from './patch.js';
import { APP_PROBERS_ENV, appProbers, rewriteContainerProbes } from './probes.js';
import { mergePrometheus, prometheusPort, securePrometheusPort, withoutPrometheusAnnotations } from './prometheus.js';
import { DEFAULT_PROXY_CONFIG, mergeProxyConfig, parseProxyConfigAnnotation, proxyConfigJson } from './proxyConfig.js';
import {
  checksInjectedPod,
  compileSafety,
  INJECTED_CONTAINER_NAMES,
  injectedPodProblems,
  safetyProblems,
  templatePrivileges,
  type SafetyRules,
} from './safety.js';
import { OTHER_STOCK_TEMPLATES } from '../config/istioInstallData.js';
import { compileSettings, type Settings } from './settings.js';
import { strategicMerge } from './smp.js';
import { renderSidecarTemplate, type TemplatePod } from './template.js';

export type { InjectionOutcome, InjectionRequest, Injector } from './api.js';

const SUPPORTED_TEMPLATES = ['sidecar'];

interface Compiled {
  config: InjectorConfig;
  cluster: ClusterView | undefined;
  settings: Settings;
  safety: SafetyRules;
  /** Whether the injected containers of the final pod are checked (any safety check on). */
  checkInjected: boolean;
  /** meshConfig.defaultConfig over Istio's DefaultProxyConfig. */
  proxyConfig: JsonObject;
  proxyConfigJson: string;
  /** The revision this configuration serves and its webhooks (the decision's first rule), once per configuration. */
  served: ServedSelection;
}

/** Values of `sidecar.istio.io/proxyImageType` that give the operator's images (absent, empty, the published types). */
const IMAGE_TYPE_ANNOTATIONS = [undefined, '', 'default', 'distroless', 'debug'];

/**
 * What the operator's own configuration makes the template produce, for a pod that asks for nothing (no annotation,
 * no declared sidecar container): the privileges of each injected container and the images it can name.
 */
function operatorTemplate(config: InjectorConfig, s: Settings, proxyConfig: JsonObject, pcJson: string) {
  const pod: Pod = { metadata: { name: 'operator-template', namespace: 'default', labels: {}, annotations: {} }, spec: { containers: [{ name: 'app', image: 'app' }] } };
  const meshImageType = (proxyConfig.image as { imageType?: string } | undefined)?.imageType;
  const template = renderSidecarTemplate({
    settings: s,
    pod,
    deployMeta: { apiVersion: 'v1', kind: 'Pod', name: 'operator-template', namespace: 'default' },
    proxyConfig,
    proxyConfigJson: pcJson,
    native: config.nativeSidecars === true,
    hold: false,
    proxyImage: sidecarImage(s, s.proxyImageName, meshImageType, undefined),
    proxyInitImage: sidecarImage(s, s.proxyInitImageName, undefined, undefined),
  });
  const images = new Set<string>();
  for (const type of IMAGE_TYPE_ANNOTATIONS) {
    images.add(sidecarImage(s, s.proxyImageName, meshImageType, type));
    images.add(sidecarImage(s, s.proxyInitImageName, undefined, type));
  }
  const metadata = proxyConfig.proxyMetadata;
  const proxyMetadata: Record<string, string> = {};
  if (isPlainObject(metadata)) for (const [k, v] of Object.entries(metadata)) proxyMetadata[k] = String(v);
  return { images: [...images], privileges: templatePrivileges(template), proxyMetadata };
}

function compile(config: InjectorConfig, cluster: ClusterView | undefined): Compiled {
  const settings = compileSettings(config);
  const defaultConfig = settings.mesh.defaultConfig;
  const checked = parseProxyConfigAnnotation(JSON.stringify(defaultConfig));
  if (typeof checked === 'string') throw new ConfigError('meshConfig.defaultConfig', checked);
  const proxyConfig = mergeProxyConfig(DEFAULT_PROXY_CONFIG, checked);
  if (config.policy !== 'enabled' && config.policy !== 'disabled') {
    throw new ConfigError('policy', `must be "enabled" or "disabled", got ${JSON.stringify(config.policy)}`);
  }
  const pcJson = proxyConfigJson(proxyConfig);
  const safety = compileSafety(config.safety, settings.hub, operatorTemplate(config, settings, proxyConfig, pcJson));
  const served = servedSelection(config, settings.revision || 'default', settings.enableNamespacesByDefault);
  return { config, cluster, settings, safety, checkInjected: checksInjectedPod(safety), proxyConfig, proxyConfigJson: pcJson, served };
}

/**
 * Compiles `config` once (errors are ConfigErrors naming the key) into an injector. `cluster`, when given, supplies
 * namespace labels and node versions from informer caches.
 */
/** An injector with what it compiled, for the validator and the explainer of the same configuration to share. */
export type CompiledInjector = Injector & { readonly safety: SafetyRules; readonly settings: Settings };

export function createInjector(config: InjectorConfig, cluster?: ClusterView): CompiledInjector {
  const compiled = compile(config, cluster);
  const common = { config, safety: compiled.safety, settings: compiled.settings };
  const size = config.clusterSize;
  if (size?.setting !== 'auto') return { ...common, inject: (request) => injectPod(request, compiled) };
  // kyma-module with clusterSize auto: both sizes compiled once; each pod gets the size the cluster has now.
  const evaluation = compile({ ...config, values: size.evaluationValues }, cluster);
  return { ...common, inject: (request) => injectPod(request, autoClusterSize(cluster) === 'evaluation' ? evaluation : compiled) };
}

const rejected = (category: RejectionCategory, message: string, reason = message, at?: string): InjectionOutcome => ({
  kind: 'rejected',
  reason,
  category,
  message,
  ...(at !== undefined ? { at } : {}),
});
const annotationAt = (annotation: string) => `metadata.annotations["${annotation}"]`;

/** Checks the shape of the pod the injector is about to read; a message naming the field, or undefined. */
function podShapeProblem(pod: unknown): string | undefined {
  if (!isPlainObject(pod)) return 'the object is not a Pod: expected a JSON object';
  const meta = pod.metadata;
  if (meta !== undefined && meta !== null && !isPlainObject(meta)) return 'metadata must be an object';
  if (isPlainObject(meta)) {
    for (const field of ['labels', 'annotations'] as const) {
      const map = meta[field];
      if (map === undefined || map === null) continue;
      if (!isPlainObject(map)) return `metadata.${field} must be a map of strings`;
      for (const [k, v] of Object.entries(map)) if (typeof v !== 'string') return `metadata.${field}["${quoteValue(k)}"] must be a string`;
    }
    for (const field of ['name', 'generateName', 'namespace'] as const) {
      const v = meta[field];
      if (v !== undefined && v !== null && typeof v !== 'string') return `metadata.${field} must be a string`;
    }
    const owners = meta.ownerReferences;
    if (owners !== undefined && owners !== null) {
      if (!Array.isArray(owners)) return 'metadata.ownerReferences must be a list';
      for (const [i, o] of owners.entries()) {
        if (!isPlainObject(o)) return `metadata.ownerReferences[${i}] must be an object`;
        for (const f of ['apiVersion', 'kind', 'name'] as const) {
          if (o[f] !== undefined && typeof o[f] !== 'string') return `metadata.ownerReferences[${i}].${f} must be a string`;
        }
      }
    }
  }
  if (!isPlainObject(pod.spec)) return 'spec must be an object (a Pod spec)';
  for (const field of ['containers', 'initContainers'] as const) {
    const list = pod.spec[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) return `spec.${field} must be a list`;
    for (const [i, c] of list.entries()) {
      if (!isPlainObject(c)) return `spec.${field}[${i}] must be an object`;
      if (typeof c.name !== 'string') return `spec.${field}[${i}].name must be a string`;
      for (const list of ['ports', 'env', 'volumeMounts'] as const) {
        const items = c[list];
        if (items === undefined || items === null) continue;
        if (!Array.isArray(items)) return `spec.${field}[${i}].${list} must be a list`;
        const bad = items.findIndex((item) => !isPlainObject(item));
        if (bad >= 0) return `spec.${field}[${i}].${list}[${bad}] must be an object`;
      }
    }
  }
  return undefined;
}

/** Replaces istio-proxy (wherever it is) by `f(istio-proxy)`. */
function updateProxy(pod: Pod, f: (c: Container) => Container): Pod {
  const spec = pod.spec!;
  const map = (list: Container[] | undefined) => list?.map((c) => (c.name === PROXY_CONTAINER ? f(c) : c));
  return { ...pod, spec: { ...spec, containers: map(spec.containers), initContainers: map(spec.initContainers) } };
}

function setEnv(env: EnvVar[] | undefined, name: string, value: string): EnvVar[] {
  return [...(env ?? []), { name, value }];
}

/**
 * Istio's stripPod: the pod the template is rendered from, without an earlier injection (the containers
 * `sidecar.istio.io/status` names). Only the template's input: the template is merged onto the pod as received. With
 * `onlyInjected` (safety.stripOnlyInjectedContainers) only containers with the injector's own names are hidden, so a
 * status the pod wrote itself cannot hide its other containers from the template. Like Istio, volumes and image pull
 * secrets are kept (the template's merge by name replaces its own).
 */
function stripPod(pod: Pod, prometheusStatusPort: number, onlyInjected: boolean): Pod {
  const status = parseStatus(pod.metadata?.annotations?.[A.status]);
  if (!status) return pod;
  const spec = pod.spec!;
  const removable = (names: string[]) => (onlyInjected ? names.filter((n) => INJECTED_CONTAINER_NAMES.has(n)) : names);
  const without = (list: Container[] | undefined, names: string[]) => {
    const remove = removable(names);
    return remove.length === 0 ? list : list?.filter((c) => !remove.includes(c.name));
  };
  let annotations = { ...pod.metadata!.annotations };
  if (prometheusPort(annotations) === String(prometheusStatusPort)) annotations = withoutPrometheusAnnotations(annotations);
  delete annotations[A.status];
  return {
    ...pod,
    metadata: { ...pod.metadata, annotations },
    spec: { ...spec, containers: without(spec.containers, status.containers), initContainers: without(spec.initContainers, status.initContainers) },
  };
}

type Placement = 'first' | 'last';
function move(list: Container[] | undefined, name: string, where: Placement): Container[] | undefined {
  if (!list) return list;
  const i = list.findIndex((c) => c.name === name);
  if (i < 0) return list;
  const rest = [...list.slice(0, i), ...list.slice(i + 1)];
  return where === 'first' ? [list[i]!, ...rest] : [...rest, list[i]!];
}

/** Istio's reorderPod: proxy last (or first when holding the app); native: istio-init → istio-proxy → core dump → user init containers. */
function reorder(pod: Pod, hold: boolean): Pod {
  const spec = pod.spec!;
  const containers = move(spec.containers, PROXY_CONTAINER, hold ? 'first' : 'last');
  let init = spec.initContainers;
  if (init?.some((c) => c.name === PROXY_CONTAINER)) {
    for (const name of [CORE_DUMP_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER, INIT_CONTAINER]) init = move(init, name, 'first');
  } else {
    init = move(init, VALIDATION_CONTAINER, 'first');
    init = move(init, INIT_CONTAINER, 'last');
    init = move(init, CORE_DUMP_CONTAINER, 'last');
  }
  return { ...pod, spec: { ...spec, containers, initContainers: init } };
}

function statusAnnotation(t: TemplatePod, revision: string): string {
  const names = (list: { name: string }[]) => (list.length ? list.map((x) => x.name) : null);
  return JSON.stringify({
    initContainers: names(t.spec.initContainers),
    containers: names(t.spec.containers),
    volumes: names(t.spec.volumes),
    imagePullSecrets: names(t.spec.imagePullSecrets),
    revision: revision || 'default',
  });
}

/** Proxy env from the webhook URL (`/inject/cluster/X/net/Y`), with the network from values or the pod's network label. */
function clusterEnvs(pathParams: Record<string, string> | undefined, s: Settings, podLabels: Record<string, string>): Record<string, string> {
  const envs: Record<string, string> = {};
  for (const [k, v] of Object.entries(pathParams ?? {})) {
    if (k === 'cluster') envs.ISTIO_META_CLUSTER_ID = v;
    else if (k === 'net') envs.ISTIO_META_NETWORK = v;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) envs[k.toUpperCase()] = v;
  }
  if (!envs.ISTIO_META_CLUSTER_ID && s.clusterName) envs.ISTIO_META_CLUSTER_ID = s.clusterName;
  if (!envs.ISTIO_META_NETWORK && s.network) envs.ISTIO_META_NETWORK = s.network;
  const labelled = podLabels[L.network];
  if (labelled) envs.ISTIO_META_NETWORK = labelled;
  return envs;
}

/** The variable names `apm.datadoghq.com/env` gives istio-proxy (the template reads it with the datadog tracer). */
function datadogEnvNames(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return isPlainObject(parsed) ? Object.keys(parsed) : [];
  } catch {
    return [];
  }
}

/**
 * One pod, in the phases of Istio's injectPod: decide (injectRequired), check the pod's annotations, RunTemplate
 * (render the sidecar template and merge it onto the pod), postProcessPod, check the injected pod, and createPatch
 * (built only when the answer is sent).
 */
function injectPod(request: InjectionRequest, c: Compiled): InjectionOutcome {
  const shape = podShapeProblem(request.pod);
  if (shape) return rejected('invalidPod', `mesh-webhook: cannot inject: ${shape}`, `invalid pod: ${shape}`);
  const original = request.pod;
  const namespace = podNamespace(original, request.namespace);
  const deployMeta = deployMetaFromPod(original, namespace, request.workload);
  const subject: PodSubject = { namespace, ...(deployMeta.name ? { workload: `${deployMeta.kind}/${deployMeta.name}` } : {}) };

  // The decision, with every rule it evaluated when the caller asked for the trace (the debug log line).
  const traced = traceInjection(
    {
      pod: original,
      namespace,
      namespaceLabels: c.cluster?.namespaceLabels(namespace),
      served: c.served,
    },
    c.config,
    request.trace === true,
  );
  const { decision } = traced;
  const about = request.trace === true ? { subject, trace: traced } : { subject };
  if (!decision.inject) return { kind: 'skipped', reason: decision.reason, rule: decision.rule, ...about };

  const annotations = original.metadata?.annotations ?? {};
  const refused = checkAnnotations(annotations, c);
  if (refused) return { ...refused, ...about };

  const rendered = runTemplate(original, deployMeta, annotations, c);
  const processed = postProcessPod(rendered, original, annotations, request, c);
  if ('kind' in processed) return { ...processed, ...about };

  const final = processed.pod;
  const unsafe = checkInjectedPod(final, rendered, original, annotations, processed.clusterEnv, c);
  if (unsafe) return { ...unsafe, ...about };
  return { kind: 'injected', reason: decision.reason, pod: final, patch: () => buildPatch(original, final), rule: decision.rule, ...about };
}

/** The pod's annotations before anything is rendered: Istio's validators, the safety settings, the templates asked for. */
function checkAnnotations(annotations: Readonly<Record<string, string>>, c: Compiled): InjectionOutcome | undefined {
  const problems = [...validateInjectionAnnotations(annotations), ...safetyProblems(annotations, c.safety)];
  if (problems.length > 0) {
    return rejected('invalidAnnotation', problems.map(describeAnnotationProblem).join('; '), `invalid annotation ${problems[0]!.annotation}`);
  }
  const conflicts = resourceConflicts(annotations);
  if (conflicts.length > 0) {
    return rejected('invalidAnnotation', conflicts.map((conflict) => describeResourceConflict(conflict)).join('; '), `invalid annotation ${conflicts[0]!.request.annotation}`);
  }
  const templates = (annotations[A.templates] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = templates.filter((t) => !SUPPORTED_TEMPLATES.includes(t));
  if (unknown.length > 0) {
    // One of Istio's other stock templates: istiod would render it, mesh-webhook does not (docs/migration.md).
    const stock = OTHER_STOCK_TEMPLATES.includes(unknown[0]!) ? `; mesh-webhook renders only Istio's sidecar template: leave pods asking for ${unknown[0]} to istiod's injector` : '';
    return rejected(
      'unknownTemplate',
      `invalid value '${quoteValue(annotations[A.templates]!)}' for annotation '${A.templates}': requested template '${quoteValue(unknown[0]!)}' not found; have [${SUPPORTED_TEMPLATES.join(' ')}]${stock}`,
      `unknown injection template ${quoteValue(unknown[0]!)}`,
      annotationAt(A.templates),
    );
  }
  return undefined;
}

/** The mesh's ProxyConfig overlaid by the pod's proxy.istio.io/config, and what the pod's own document said. */
function podProxyConfig(annotations: Readonly<Record<string, string>>, c: Compiled) {
  const text = annotations[A.proxyConfig];
  if (text === undefined) return { proxyConfig: c.proxyConfig, json: c.proxyConfigJson, metadata: undefined, parsed: undefined };
  const parsed = parseProxyConfigAnnotation(text) as JsonObject;
  const proxyConfig = mergeProxyConfig(c.proxyConfig, parsed);
  return {
    proxyConfig,
    json: proxyConfigJson(proxyConfig),
    metadata: isPlainObject(parsed.proxyMetadata) ? parsed.proxyMetadata : undefined,
    parsed,
  };
}

/** What RunTemplate produced, with what the later phases need to know about how. */
interface RenderedPod {
  pod: Pod;
  template: TemplatePod;
  proxyConfig: Record<string, unknown>;
  /** The pod's own proxy.istio.io/config (document and proxyMetadata), for the safety checks. */
  podProxyConfig: { metadata: Record<string, unknown> | undefined; parsed: JsonObject | undefined };
  overrides: Overrides;
  overridesFromAnnotation: boolean;
  hold: boolean;
  meshStatusPort: number;
  /** ISTIO_KUBE_APP_PROBERS of an earlier injection (re-injection keeps the original probes). */
  previousProbers: string | undefined;
}

/**
 * Istio's RunTemplate: the template is rendered from the pod without its earlier injection, with the recorded
 * overrides put back (stripPod, reinsertOverrides); it is merged onto the pod as received, earlier injection included,
 * and the containers the pod declared are applied again (reapplyOverwrittenContainers).
 */
function runTemplate(original: Pod, deployMeta: DeployMeta, annotations: Readonly<Record<string, string>>, c: Compiled): RenderedPod {
  const s = c.settings;
  const meshStatusPort = Number(c.proxyConfig.statusPort ?? 15020);
  const previousStatus = parseStatus(annotations[A.status]);
  const previousProbers = previousStatus ? findProxy(original)?.container.env?.find((e) => e.name === APP_PROBERS_ENV)?.value : undefined;
  const existingOverrides = parseOverrides(annotations[A.overrides]);
  const input = reinsertOverrides(stripPod(original, meshStatusPort, c.safety.stripOnlyInjected), existingOverrides);

  const pc = podProxyConfig(annotations, c);
  const proxyConfig = pc.proxyConfig;
  const nativeAnnotation = annotations[A.nativeSidecar];
  const native =
    nativeAnnotation === 'true'
      ? true
      : nativeAnnotation === 'false'
        ? false
        : c.config.nativeSidecars === 'auto'
          ? (c.cluster?.nativeSidecarsSupported(original.spec?.nodeName) ?? false)
          : c.config.nativeSidecars;
  const hold = proxyConfig.holdApplicationUntilProxyStarts === true || s.holdApplicationUntilProxyStarts;
  const annotatedImageType = Object.hasOwn(annotations, A.proxyImageType) ? String(annotations[A.proxyImageType]) : undefined;
  const pcImageType: unknown = (proxyConfig.image as { imageType?: unknown } | undefined)?.imageType;
  const proxyConfigImageType = typeof pcImageType === 'string' ? pcImageType : undefined;
  const annotatedImage = annotations[A.proxyImage];

  const template = renderSidecarTemplate({
    settings: s,
    pod: input,
    // From the pod as received: stripping the earlier injection changes neither its owners nor its name.
    deployMeta,
    proxyConfig,
    proxyConfigJson: pc.json,
    native,
    hold: hold && !native,
    proxyImage: annotatedImage?.includes('/') ? annotatedImage : sidecarImage(s, s.proxyImageName, proxyConfigImageType, annotatedImageType),
    proxyInitImage: annotatedImage?.includes('/') ? annotatedImage : sidecarImage(s, s.proxyInitImageName, undefined, annotatedImageType),
  });

  // The merge starts from the pod as received. A classic istio-proxy (declared by the user, or injected earlier)
  // follows the proxy into initContainers when it now runs as a native sidecar (Istio's moveContainer).
  let pod = original;
  if (native && template.spec.initContainers.some((x) => x.name === PROXY_CONTAINER) && pod.spec!.containers?.some((x) => x.name === PROXY_CONTAINER)) {
    const proxyContainer = pod.spec!.containers.find((x) => x.name === PROXY_CONTAINER)!;
    pod = {
      ...pod,
      spec: {
        ...pod.spec,
        containers: pod.spec!.containers.filter((x) => x.name !== PROXY_CONTAINER),
        initContainers: [...(pod.spec!.initContainers ?? []), proxyContainer],
      },
    };
  }
  pod = strategicMerge(pod, {
    metadata: template.metadata,
    spec: {
      initContainers: template.spec.initContainers.length ? template.spec.initContainers : undefined,
      containers: template.spec.containers.length ? template.spec.containers : undefined,
      volumes: template.spec.volumes,
      imagePullSecrets: template.spec.imagePullSecrets.length ? template.spec.imagePullSecrets : undefined,
    },
  });
  const reapplied = reapplyOverwrittenContainers(pod, {
    original,
    template: template.spec,
    previous: annotations[A.status] !== undefined ? (previousStatus ?? { containers: [], initContainers: [] }) : undefined,
    recorded: existingOverrides,
  });
  const interception = annotations[A.interceptionMode] ?? (proxyConfig.interceptionMode as string | undefined) ?? 'REDIRECT';
  pod = adjustInitContainerUser(reapplied.pod, findProxy(original)?.container, interception === 'TPROXY');
  return {
    pod,
    template,
    proxyConfig,
    podProxyConfig: { metadata: pc.metadata, parsed: pc.parsed },
    overrides: reapplied.applied,
    overridesFromAnnotation: existingOverrides !== undefined,
    hold,
    meshStatusPort,
    previousProbers,
  };
}

/**
 * Istio's postProcessPod, in its order: the overrides recorded, the cluster environment from the webhook path, the
 * Prometheus merge, the probe rewrite, the status annotation, the operator's injected annotations, the container order.
 */
function postProcessPod(
  rendered: RenderedPod,
  original: Pod,
  annotations: Readonly<Record<string, string>>,
  request: InjectionRequest,
  c: Compiled,
): { pod: Pod; clusterEnv: Record<string, string> } | InjectionOutcome {
  const s = c.settings;
  let pod = rendered.pod;
  let podAnnotations: Record<string, string> = { ...pod.metadata!.annotations };
  // Recorded on the first injection only, so that re-injection can put them back into the template's input.
  const { overrides } = rendered;
  if (annotations[A.status] === undefined && (overrides.containers.length || overrides.initContainers.length)) {
    podAnnotations[A.overrides] = overridesJson(overrides);
  }

  const labels = { ...pod.metadata!.labels };
  const envs = clusterEnvs(request.pathParams, s, original.metadata?.labels ?? {});
  if (Object.keys(envs).length > 0) {
    pod = updateProxy(pod, (proxy) => {
      const kept = (proxy.env ?? []).filter((e) => !Object.hasOwn(envs, e.name));
      const added = Object.keys(envs)
        .sort()
        .map((name) => ({ name, value: envs[name]! }));
      return { ...proxy, env: [...kept, ...added] };
    });
  }

  const prometheus = mergePrometheus(podAnnotations, rendered.meshStatusPort, s.mesh.enablePrometheusMerge);
  if (prometheus.kind === 'error') return rejected('invalidPrometheusPort', prometheus.message, prometheus.reason, annotationAt(prometheus.annotation));
  if (prometheus.kind === 'merged') {
    podAnnotations = prometheus.annotations;
    if (prometheus.proxyEnv) pod = updateProxy(pod, (p) => ({ ...p, env: setEnv(p.env, 'ISTIO_PROMETHEUS_ANNOTATIONS', prometheus.proxyEnv!) }));
  }
  const securePort = securePrometheusPort(podAnnotations, findProxy(pod)?.container.env);
  if (securePort !== undefined) podAnnotations[A.securePort] = securePort;

  const rewrite = parseGoBool(annotations[A.rewriteAppHTTPProbers]) ?? s.rewriteAppHTTPProbe;
  if (rewrite) pod = rewriteProbes(pod, annotations, rendered);

  if (envs.ISTIO_META_NETWORK) labels[L.network] = envs.ISTIO_META_NETWORK;
  podAnnotations[A.status] = statusAnnotation(rendered.template, s.revision);
  for (const [k, v] of Object.entries(s.injectedAnnotations)) podAnnotations[k] = v;
  pod = { ...pod, metadata: { ...pod.metadata, labels, annotations: podAnnotations } };
  return { pod: reorder(pod, rendered.hold), clusterEnv: envs };
}

/** The probe rewrite (src/inject/probes.ts): the originals to the proxy in ISTIO_KUBE_APP_PROBERS, the probes to it. */
function rewriteProbes(pod: Pod, annotations: Readonly<Record<string, string>>, rendered: RenderedPod): Pod {
  const statusAnn = annotations[A.statusPort];
  const probePort = statusAnn !== undefined ? Number(statusAnn) : rendered.meshStatusPort;
  const spec = pod.spec!;
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  const probers = appProbers(all, probePort, rendered.previousProbers);
  let out = pod;
  if (probers) out = updateProxy(out, (p) => ({ ...p, env: setEnv(p.env?.filter((e) => e.name !== APP_PROBERS_ENV), APP_PROBERS_ENV, probers) }));
  const rewriteAll = (list: Container[] | undefined) => {
    if (!list) return list;
    const next = list.map((x) => rewriteContainerProbes(x, probePort));
    return next.every((x, i) => x === list[i]) ? list : next;
  };
  return { ...out, spec: { ...out.spec, containers: rewriteAll(out.spec!.containers), initContainers: rewriteAll(out.spec!.initContainers) } };
}

/** The injected pod: requests within limits, and (when the operator limits them) the safety rules. */
function checkInjectedPod(
  final: Pod,
  rendered: RenderedPod,
  original: Pod,
  annotations: Readonly<Record<string, string>>,
  clusterEnv: Record<string, string>,
  c: Compiled,
): InjectionOutcome | undefined {
  const { template } = rendered;
  const injectedNames = new Set([...template.spec.initContainers, ...template.spec.containers].map((x) => x.name));
  const overLimit = injectedResourceProblem([...(final.spec?.initContainers ?? []), ...(final.spec?.containers ?? [])], injectedNames);
  if (overLimit) return rejected('injectedResources', overLimit, 'injected resources above limits', 'spec');
  if (!c.checkInjected) return undefined;
  const unsafe = injectedPodProblems(
    {
      original,
      final,
      template,
      annotations,
      overrides: rendered.overrides,
      overridesFromAnnotation: rendered.overridesFromAnnotation,
      podProxyMetadata: rendered.podProxyConfig.metadata,
      podProxyConfig: rendered.podProxyConfig.parsed,
      datadogEnv: c.settings.tracer === 'datadog' ? datadogEnvNames(annotations[A.datadogEnv]) : [],
      clusterEnv,
    },
    c.safety,
  );
  if (unsafe.length === 0) return undefined;
  return { kind: 'rejected', reason: `unsafe injection: ${unsafe[0]!.code} ${unsafe[0]!.path}`, category: 'unsafeInjection', message: unsafe.map((p) => p.message).join('; '), problems: unsafe };
}
