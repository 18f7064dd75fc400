/**
 * "Why (not) injected": the decision trace of a pod or workload, as `mesh-webhook explain`, `POST /explain` and the
 * debug log show it. Built on {@link traceInjection} (every rule of the decision in order: the same function the
 * injector decides with, so the explanation can never disagree with the decision) plus a dry run of the injector for
 * what the decision alone does not tell: whether the pod would be rejected (annotation errors) and whether the sidecar
 * would be native or classic.
 */
import type { ClusterView } from '../cluster/view.js';
import { autoClusterSize } from '../config/kymaModule.js';
import type { ClusterSize, InjectorConfig } from '../config/types.js';
import type { Injector, WorkloadRef } from '../inject/api.js';
import { L } from '../inject/annotations.js';
import { hasNativeProxy } from '../inject/containers.js';
import { servedSelection, traceInjection, type DecisionTrace, type InjectionDecision, type ServedSelection, type TraceStep } from '../inject/decision.js';
import { caAddress } from '../inject/template.js';
import { compileSettings } from '../inject/settings.js';
import type { CompiledInjector } from '../inject/index.js';
import type { Pod } from '../k8s/types.js';
import { asString, isPlainObject } from '../util/json.js';
import { shellQuote } from '../util/shellQuote.js';
import { podTemplateShape } from '../workloads/kinds.js';

/** Where the labels of the pod's namespace came from (rule 4 reads them). */
export type LabelSource = 'cluster' | 'configuration' | 'command line' | 'input' | 'unknown';

/** What the injector itself would do with the pod (a dry run). */
export interface InjectorVerdict {
  outcome: 'injected' | 'skipped' | 'rejected' | 'error';
  /** The injector's reason (the decision's reason, or the rejection's). */
  reason: string;
  /** The message the pod would be rejected with (outcome rejected or error). */
  message?: string;
  /** How the sidecar would run (outcome injected): native = istio-proxy an init container with restartPolicy Always. */
  sidecar?: 'native' | 'classic';
}

export interface Explanation {
  /** `Deployment shop/web`, `Pod default/(generateName web-)`. */
  object: string;
  kind: string;
  name: string;
  namespace: string;
  namespaceLabels: { source: LabelSource; labels: Record<string, string> | null };
  /** Every rule of the decision in order (decided / passed / not reached). */
  steps: TraceStep[];
  decision: InjectionDecision;
  injector: InjectorVerdict;
  /** What would change the outcome: the `change` of the deciding rule (or how to fix the rejection). */
  change: string;
  /** The checks Kyma users are told to do by hand, for this object. */
  troubleshooting: string[];
  /**
   * The revision whose webhook selectors the injector answers for (rule webhookSelectors), and the revision the
   * sidecar is rendered for (`values.revision`: `istio.io/rev`, the status annotation's revision, `CA_ADDR`).
   */
  served: ServedSelection & { rendered: { revision: string; caAddress: string } };
  /** kyma-module: which of the module's sizes the injector used, and where that came from. */
  clusterSize?: { size: ClusterSize; source: 'configuration' | 'cluster' | 'default (no node known)' };
}

export interface ExplainOptions {
  /** Namespace of objects without metadata.namespace (the AdmissionReview's request.namespace, `--namespace`). */
  namespace?: string;
}

export interface Explainer {
  readonly config: InjectorConfig;
  /** Only the decision trace (what the debug log line carries): no dry run of the injector. */
  trace(pod: Pod, namespace: string): DecisionTrace;
  /** The explanation of a Pod or a workload (anything with a pod template); undefined for other kinds. */
  explain(object: unknown, options?: ExplainOptions): Explanation | undefined;
}

export interface ExplainerOptions {
  /** The cluster view the injector was built with (namespace labels from the informer cache). */
  cluster?: ClusterView;
  /** Overrides the reported source of a namespace's configured labels (`command line`, `input`). */
  labelSource?: (namespace: string) => LabelSource | undefined;
}

type Obj = Record<string, unknown>;

function at(root: Obj, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const key of path) cur = isPlainObject(cur) ? cur[key] : undefined;
  return cur;
}

/**
 * Shell words of the suggested commands. Names come from the object (a manifest can hold anything, e.g.
 * `web$(curl ...|sh)`), so every object-derived word is quoted for a POSIX shell; `<name>`-style placeholders stand
 * where the object has no name and stay as they are.
 */
const nsFlag = (namespace: string) => (namespace ? ` -n ${shellQuote(namespace)}` : '');
const nsWord = (namespace: string) => (namespace ? shellQuote(namespace) : '<namespace>');
/** `kind/name` as one word (`<kind>/<name>` when the object has no name). */
const resourceWord = (kind: string, name: string | undefined) =>
  name ? shellQuote(`${kind.toLowerCase()}/${name}`) : `${kind.toLowerCase()}/<name>`;

/** How to re-create the pods of a workload, so that they go through the webhook again. */
function restartAdvice(kind: string, name: string | undefined, namespace: string): string {
  const ns = nsFlag(namespace);
  const shown = name ?? '<name>';
  switch (kind) {
    case 'Deployment':
    case 'DaemonSet':
    case 'StatefulSet':
      return `kubectl rollout restart ${resourceWord(kind, name)}${ns}`;
    case 'ReplicaSet':
    case 'ReplicationController':
      return `delete the pods of ${kind} ${shown} (kubectl delete pod${ns} -l <its selector>); it creates them again`;
    case 'Job':
      return `delete the Job and create it again (kubectl replace --force -f <file>${ns})`;
    case 'CronJob':
      return `the next Job of CronJob ${shown} gets the change (or kubectl create job ${name ? shellQuote(`--from=cronjob/${name}`) : '--from=cronjob/<name>'} <name>${ns})`;
    case 'Pod':
      return `delete the pod and create it again (kubectl replace --force -f <file>${ns})`;
    default:
      return `re-create the pods of ${kind} ${shown}`;
  }
}

/**
 * `objectName`: the object's metadata.name (undefined when it has none, e.g. a pod with only generateName), for the
 * commands; `e.name` is the display form.
 */
function troubleshooting(e: Omit<Explanation, 'troubleshooting' | 'change'>, config: InjectorConfig, objectName: string | undefined): string[] {
  const { kind, namespace } = e;
  const ns = namespace || '<namespace>';
  const isPod = kind === 'Pod';
  const labelPath = isPod ? '.metadata' : kind === 'CronJob' ? '.spec.jobTemplate.spec.template.metadata' : '.spec.template.metadata';
  const resource = resourceWord(kind, objectName);
  const steps = [
    `Check the namespace labels: kubectl get namespace ${nsWord(namespace)} --show-labels (istio-injection=disabled or gardener.cloud/purpose=kube-system turn injection off; istio.io/rev must name this injector's revision)`,
    `Check the ${isPod ? 'pod' : 'pod template'} label and annotation ${L.inject}: kubectl get ${resource} -n ${nsWord(namespace)} -o jsonpath='{${labelPath}.labels}{"\\n"}{${labelPath}.annotations}' (the label wins over the annotation; only "true" and "false" count)`,
    `Check that ${ns} is not excluded: excludedNamespaces of the mesh-webhook configuration (${config.excludedNamespaces.join(', ') || 'none'}) and Istio's system namespaces`,
    `Check that the API server calls the webhook for this pod: kubectl get mutatingwebhookconfiguration mesh-webhook -o yaml (namespaceSelector and objectSelector; the objectSelector skips pods labelled ${L.inject}=false before the webhook sees them), and the webhook's log line for the pod (decision and reason)`,
    `Labels and annotations act when a pod is created: after changing them, ${restartAdvice(kind, objectName, namespace)}`,
  ];
  if (e.injector.outcome === 'injected') {
    steps.push(
      `Check that the running pods have the sidecar: kubectl get pods -n ${nsWord(namespace)} -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.initContainers[*].name}{" "}{.spec.containers[*].name}{"\\n"}{end}' (istio-proxy is an init container when native)`,
    );
  }
  return steps;
}

/**
 * A rule's `change` with the namespace (and revision) of its `kubectl label namespace` command quoted for the shell
 * (the decision rules write them as they are; see src/inject/decision.ts). Other texts are returned unchanged.
 */
function quotedChange(change: string, namespace: string, revision: string): string {
  const prefix = `kubectl label namespace ${namespace} `;
  if (!change.startsWith(prefix)) return change;
  let rest = change.slice(prefix.length);
  const label = `istio.io/rev=${revision}`;
  if (rest.startsWith(`${label} `)) rest = `${shellQuote(label)}${rest.slice(label.length)}`;
  return `kubectl label namespace ${shellQuote(namespace)} ${rest}`;
}

function rejectionChange(message: string): string {
  return `fix the pod's annotations (the pod is rejected: ${message})`;
}

/** An explainer for `injector` (which must have been built with `options.cluster`, when there is one). */
export function createExplainer(injector: Injector, options: ExplainerOptions = {}): Explainer {
  const config = injector.config;
  // The injector's compiled settings when it has them (createInjector); a bare Injector (tests) compiles its own.
  const settings = 'settings' in injector ? (injector as CompiledInjector).settings : compileSettings(config);
  const served = servedSelection(config, settings.revision, settings.enableNamespacesByDefault);
  const rendered = { revision: settings.revision || 'default', caAddress: caAddress(settings) };
  const cluster = options.cluster;

  function trace(pod: Pod, namespace: string): DecisionTrace {
    return traceInjection(
      { pod, namespace, namespaceLabels: cluster?.namespaceLabels(namespace), revision: settings.revision || 'default', enableNamespacesByDefault: settings.enableNamespacesByDefault },
      config,
    );
  }

  /** The size the injector uses (createInjector, autoClusterSize) and where it comes from. */
  function clusterSizeUsed(): Explanation['clusterSize'] {
    const setting = config.clusterSize?.setting;
    if (setting === undefined) return undefined;
    if (setting !== 'auto') return { size: setting, source: 'configuration' };
    return { size: autoClusterSize(cluster), source: cluster?.clusterSize?.() ? 'cluster' : 'default (no node known)' };
  }

  function labelsOf(namespace: string): Explanation['namespaceLabels'] {
    const fromCluster = cluster?.namespaceLabels(namespace);
    if (fromCluster) return { source: 'cluster', labels: { ...fromCluster } };
    const configured = Object.hasOwn(config.namespaceLabels, namespace) ? config.namespaceLabels[namespace] : undefined;
    if (configured) return { source: options.labelSource?.(namespace) ?? 'configuration', labels: { ...configured } };
    return { source: 'unknown', labels: null };
  }

  function explain(object: unknown, opts: ExplainOptions = {}): Explanation | undefined {
    if (!isPlainObject(object)) return undefined;
    const apiVersion = asString(object.apiVersion) || 'v1';
    const kind = asString(object.kind) || 'Pod';
    const shape = podTemplateShape(apiVersion, kind);
    if (!shape) return undefined;
    const meta = isPlainObject(object.metadata) ? object.metadata : {};
    const isPod = shape.template.length === 0;
    const template = isPod ? object : at(object, shape.template);
    if (!isPlainObject(template)) return undefined;
    // The pod as the API server will send it: the template's own metadata (for a CronJob too: its pods carry the
    // labels of spec.jobTemplate.spec.template, whatever istioctl reads offline).
    const pod = { metadata: isPlainObject(template.metadata) ? template.metadata : {}, spec: isPlainObject(template.spec) ? template.spec : {} } as Pod;
    const namespace = asString(meta.namespace) || asString(pod.metadata?.namespace) || opts.namespace || '';
    const objectName = asString(meta.name) || undefined;
    const name = objectName ?? (asString(meta.generateName) ? `(generateName ${asString(meta.generateName)})` : '');
    const workload: WorkloadRef | undefined = isPod ? undefined : { apiVersion, kind, name, ...(namespace ? { namespace } : {}) };

    const t = trace(pod, namespace);
    let verdict: InjectorVerdict;
    try {
      const outcome = injector.inject({ pod, ...(namespace ? { namespace } : {}), ...(workload ? { workload } : {}) });
      if (outcome.kind === 'injected') {
        const native = hasNativeProxy(outcome.pod);
        verdict = { outcome: 'injected', reason: outcome.reason, sidecar: native ? 'native' : 'classic' };
      } else if (outcome.kind === 'skipped') {
        verdict = { outcome: 'skipped', reason: outcome.reason };
      } else {
        verdict = { outcome: 'rejected', reason: outcome.reason, message: outcome.message };
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      verdict = { outcome: 'error', reason: `internal error: ${message}`, message };
    }

    const steps = t.steps.map((s) => {
      const change = quotedChange(s.change, namespace, served.revision);
      return change === s.change ? s : { ...s, change };
    });
    const deciding = steps.find((s) => s.result === 'decided');
    const base = {
      object: `${kind} ${namespace ? `${namespace}/` : ''}${name}`,
      kind,
      name,
      namespace,
      namespaceLabels: labelsOf(namespace),
      served: { ...served, rendered },
      steps,
      decision: t.decision,
      injector: verdict,
    };
    const change = verdict.message !== undefined ? rejectionChange(verdict.message) : (deciding?.change ?? '');
    const size = clusterSizeUsed();
    return { ...base, change, troubleshooting: troubleshooting(base, config, objectName), ...(size ? { clusterSize: size } : {}) };
  }

  return { config, trace, explain };
}

/** The trace in the compact form the debug log line carries: `rule: result (detail)` per evaluated rule. */
export function compactTrace(trace: DecisionTrace): string[] {
  return trace.steps.filter((s) => s.result !== 'not reached').map((s) => `${s.rule}: ${s.result}${s.detail ? ` (${s.detail})` : ''}`);
}
