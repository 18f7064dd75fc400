/**
 * Outdated sidecars (Kyma's "proxy reset"): pods whose injected istio-proxy differs from what the current
 * configuration would inject (src/outdated/compare.ts), grouped by the workload that owns them
 * (src/outdated/owners.ts), and the restarts that replace them.
 *
 * Only running, ready pods are compared and restarted (phase Running, not terminating, every status condition True, as
 * the Kyma Istio module's restarter takes them); pending or not ready ones are listed as not compared, finished and
 * terminating ones counted. Pods with sidecar.istio.io/proxyImage chose their proxy themselves: reported, never
 * restarted (as in Kyma). Kyma's own workloads (namespace kyma-system, or pods labelled kyma-project.io/module) come
 * first in the report and in the restarts, and a failed one defers the customer workloads (the module restarts Kyma's
 * workloads first and stops when that fails).
 *
 * Restarts, at most `maxRestarts` workloads per run: Deployments, DaemonSets and StatefulSets get a new pod template
 * annotation (kubectl.kubernetes.io/restartedAt by default), but not while their previous rollout is still in progress
 * (metadata.generation ahead of status.observedGeneration; for a Deployment also another of its ReplicaSets with
 * replicas that are not all ready). The outdated pods of ReplicaSets without an owner and of ReplicationControllers
 * are deleted. Jobs, CronJobs, bare pods and other controllers are listed with what to do by hand.
 */
import type { Injector } from '../inject/api.js';
import { A } from '../inject/annotations.js';
import type { Pod } from '../k8s/types.js';
import { asString } from '../util/json.js';
import { checkPod, expectedDefault } from './compare.js';
import { diffPod } from './diffView.js';
import { RESTARTED_AT, type KubeObject, type OutdatedApi, type RestartableKind } from './kube.js';
import { controllerOf, OwnerResolver, type OwnerAction } from './owners.js';
import type { NotReadyPod, OutdatedReport, WorkloadReport } from './report.js';

export { checkPod } from './compare.js';
export type * from './report.js';

/** Kyma's own workloads: in this namespace, or with pods carrying this label (any value but empty). */
export const KYMA_NAMESPACE = 'kyma-system';
export const KYMA_MODULE_LABEL = 'kyma-project.io/module';

export interface FindOptions {
  /** undefined: every namespace. */
  namespace: string | undefined;
  /**
   * --diff: every workload with a compared pod is listed (also when its pods are up to date), with one of its pods
   * compared field by field with what mesh-webhook injects into it (./diffView.ts).
   */
  diff?: boolean;
}

/** Why a pod with a sidecar is not compared (pending, a condition not True), or undefined when it is running and ready. */
function notReadyReason(pod: KubeObject): string | undefined {
  const phase = asString(pod.status?.['phase']);
  if (phase !== 'Running') return `phase ${phase || 'unknown'}`;
  const conditions = Array.isArray(pod.status?.['conditions']) ? (pod.status['conditions'] as unknown[]) : [];
  for (const c of conditions) {
    const { type, status } = (c ?? {}) as { type?: unknown; status?: unknown };
    if (status !== 'True') return `condition ${asString(type) || '(no type)'} is ${asString(status) || 'not set'}`;
  }
  return undefined;
}

const isKymaPod = (pod: Pod): boolean => pod.metadata?.namespace === KYMA_NAMESPACE || (pod.metadata?.labels?.[KYMA_MODULE_LABEL] ?? '') !== '';

/** List the injected pods, compare each running and ready one, group the ones that need attention by workload. */
export async function findOutdated(api: OutdatedApi, injector: Injector, options: FindOptions): Promise<OutdatedReport> {
  const pods = (await api.listPods(options.namespace)) as Pod[];
  const resolver = new OwnerResolver(api);
  const groups = new Map<string, WorkloadReport>();
  const owners = new Map<WorkloadReport, { action: OwnerAction; manual: string | undefined }>();
  const notReady: NotReadyPod[] = [];
  const representatives = new Map<WorkloadReport, Pod>();
  let checked = 0;
  let upToDate = 0;
  let outdated = 0;
  let ignored = 0;
  for (const pod of pods) {
    const annotations = pod.metadata?.annotations ?? {};
    if (annotations[A.status] === undefined) continue;
    const phase = asString((pod as KubeObject).status?.['phase']);
    if (pod.metadata?.['deletionTimestamp'] || phase === 'Succeeded' || phase === 'Failed') {
      ignored += 1;
      continue;
    }
    const reason = notReadyReason(pod as KubeObject);
    if (reason !== undefined) {
      notReady.push({ namespace: asString(pod.metadata?.namespace), name: asString(pod.metadata?.name), reason });
      continue;
    }
    checked += 1;
    const report = checkPod(injector, pod);
    if (report.status === 'up-to-date') {
      upToDate += 1;
      if (!options.diff) continue;
    }
    if (report.status === 'outdated') outdated += 1;
    const owner = await resolver.resolve(pod);
    const key = `${owner.namespace}/${owner.kind}/${owner.name}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        kind: owner.kind,
        namespace: owner.namespace,
        name: owner.name,
        ...(owner.via ? { via: owner.via } : {}),
        kyma: false,
        restartable: owner.action !== 'manual',
        action: 'none',
        detail: '',
        pods: [],
      };
      groups.set(key, group);
      owners.set(group, { action: owner.action, manual: owner.manual });
    }
    if (isKymaPod(pod)) group.kyma = true;
    if (report.status !== 'up-to-date') group.pods.push(report);
    // The workload's pod for --diff: the first by name, so that runs compare the same pod.
    const chosen = representatives.get(group);
    if (options.diff && (!chosen || asString(pod.metadata?.name) < asString(chosen.metadata?.name))) representatives.set(group, pod);
  }
  const workloads = [...groups.values()].sort(
    (a, b) => Number(b.kyma) - Number(a.kyma) || `${a.namespace}/${a.kind}/${a.name}`.localeCompare(`${b.namespace}/${b.kind}/${b.name}`),
  );
  notReady.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  for (const w of workloads) {
    w.pods.sort((a, b) => a.name.localeCompare(b.name));
    const stale = w.pods.filter((p) => p.status === 'outdated');
    const owner = owners.get(w)!;
    if (stale.length === 0) {
      w.action = 'none';
      w.detail = w.pods.some((p) => p.status === 'custom-image')
        ? `custom proxy image (${A.proxyImage}): never restarted`
        : w.pods.length === 0
          ? 'its pods are up to date'
          : 'nothing to restart (see the pod notes)';
    } else if (owner.action === 'rollout') {
      w.action = 'restart';
      w.detail = `kubectl rollout restart ${w.kind.toLowerCase()}/${w.name} -n ${w.namespace}`;
    } else if (owner.action === 'delete-pods') {
      w.action = 'delete-pods';
      w.detail = `kubectl delete pod ${stale.map((p) => p.name).join(' ')} -n ${w.namespace} (the ${w.kind} creates them again)`;
    } else {
      w.action = 'manual';
      w.detail = owner.manual ?? 'not restarted';
    }
  }
  for (const w of workloads) {
    const pod = representatives.get(w);
    if (pod) w.diff = diffPod(injector, pod, await resolver.podTemplate(pod));
  }
  return { expected: expectedDefault(injector), namespace: options.namespace, checked, upToDate, outdated, ignored, notReady, workloads };
}

export interface RestartOptions {
  dryRun: boolean;
  maxRestarts: number;
  /** The pod template annotation to set; default kubectl.kubernetes.io/restartedAt. */
  annotation?: string;
  /** The restartedAt value (RFC 3339); default now. */
  now?: () => Date;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** `ReplicaSet web-7d9f` (how owners.ts names the intermediate owner) → `web-7d9f`. */
function viaReplicaSet(w: WorkloadReport): string | undefined {
  return w.via?.startsWith('ReplicaSet ') ? w.via.slice('ReplicaSet '.length) : undefined;
}

/**
 * Another ReplicaSet of the Deployment (by owner name, and uid when both have one) than the pods' own with replicas
 * that are not all ready: the Deployment is rolling out (the module's check, kyma-project/istio
 * pkg/lib/sidecars/restart/replica_set_action.go).
 */
function notReadySibling(deployment: KubeObject, w: WorkloadReport, replicaSets: KubeObject[]): KubeObject | undefined {
  const own = viaReplicaSet(w);
  const uid = deployment.metadata?.uid;
  return replicaSets.find((rs) => {
    const ref = controllerOf(rs);
    if (ref?.kind !== 'Deployment' || ref.name !== w.name || (uid && ref.uid && ref.uid !== uid)) return false;
    if (rs.metadata?.name === own) return false;
    const replicas = num(rs.status?.['replicas']);
    return replicas !== 0 && num(rs.status?.['readyReplicas']) !== replicas;
  });
}

/**
 * Plan and (unless a dry run) perform the restarts: workloads with outdated pods that --restart acts on, in report
 * order (Kyma's first), at most `maxRestarts`; workloads whose last rollout is still in progress are skipped. Mutates
 * and returns the report.
 */
export async function restartOutdated(api: OutdatedApi, report: OutdatedReport, options: RestartOptions): Promise<OutdatedReport> {
  const at = (options.now ?? (() => new Date()))().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const annotation = options.annotation ?? RESTARTED_AT;
  const replicaSets = new Map<string, Promise<KubeObject[]>>();
  const replicaSetsOf = (namespace: string) => {
    let p = replicaSets.get(namespace);
    if (!p) {
      p = api.listReplicaSets(namespace);
      replicaSets.set(namespace, p);
    }
    return p;
  };
  let restarted = 0;
  let deletedPods = 0;
  let deferred = 0;
  let failed = 0;
  let kymaFailed: string | undefined;
  for (const w of report.workloads) {
    if (w.action !== 'restart' && w.action !== 'delete-pods') continue;
    if (kymaFailed !== undefined && !w.kyma) {
      w.action = 'deferred';
      w.detail = `Kyma workload ${kymaFailed} failed to restart: customer workloads wait until Kyma's are restarted`;
      deferred += 1;
      continue;
    }
    if (restarted >= options.maxRestarts) {
      w.action = 'deferred';
      w.detail = `over --max-restarts ${options.maxRestarts}: run again once the restarts of this run have finished`;
      deferred += 1;
      continue;
    }
    try {
      if (w.action === 'delete-pods') {
        const stale = w.pods.filter((p) => p.status === 'outdated');
        if (options.dryRun) {
          w.result = `would delete ${stale.length} pod(s)`;
        } else {
          for (const p of stale) await api.deletePod(p.namespace, p.name);
          w.result = `deleted ${stale.length} pod(s)`;
        }
        deletedPods += stale.length;
        restarted += 1;
        continue;
      }
      const kind = w.kind as RestartableKind;
      const current = await api.get(kind, w.namespace, w.name);
      if (!current) {
        w.action = 'manual';
        w.detail = `${w.kind} ${w.namespace}/${w.name} no longer exists`;
        continue;
      }
      const generation = current.metadata?.generation;
      const observed = current.status?.['observedGeneration'];
      if (typeof generation === 'number' && typeof observed === 'number' && observed < generation) {
        w.action = 'rollout-in-progress';
        w.detail = `its rollout is still in progress (generation ${generation}, observed ${observed}): not restarted again`;
        continue;
      }
      if (kind === 'Deployment') {
        const sibling = notReadySibling(current, w, await replicaSetsOf(w.namespace));
        if (sibling) {
          w.action = 'rollout-in-progress';
          w.detail = `its ReplicaSet ${asString(sibling.metadata?.name)} is not ready (${num(sibling.status?.['readyReplicas'])}/${num(sibling.status?.['replicas'])} replicas): not restarted while it rolls out`;
          continue;
        }
      }
      if (annotation !== RESTARTED_AT) {
        const patch = JSON.stringify({ spec: { template: { metadata: { annotations: { [annotation]: at } } } } });
        w.detail = `kubectl patch ${w.kind.toLowerCase()}/${w.name} -n ${w.namespace} --type merge -p '${patch}'`;
      }
      if (options.dryRun) {
        w.result = 'would restart';
      } else {
        await api.restart(kind, w.namespace, w.name, at, annotation);
        w.result = 'restarted';
      }
      restarted += 1;
    } catch (err) {
      w.result = `failed: ${(err as Error).message}`;
      failed += 1;
      if (w.kyma) kymaFailed ??= `${w.kind} ${w.namespace}/${w.name}`;
    }
  }
  report.restart = { dryRun: options.dryRun, maxRestarts: options.maxRestarts, annotation, restarted, deletedPods, deferred, failed };
  return report;
}
