/**
 * Outdated sidecars (Kyma's "proxy reset"): pods whose injected istio-proxy differs from what the current
 * configuration would inject, grouped by the workload that owns them, and the rollouts that replace them.
 *
 * "What the current configuration would inject" is computed by the injector itself on the pod's own spec: re-injection
 * removes the earlier injection (the containers named in sidecar.istio.io/status) and injects again, so the expected
 * istio-proxy takes the pod's annotations (proxy.istio.io/config, sidecar.istio.io/proxyCPU, ...) into account exactly
 * as a new pod would. Compared: the image, and the resources unless the pod sets them by annotation
 * (sidecar.istio.io/proxyCPU, proxyMemory, proxyCPULimit, proxyMemoryLimit). Pods with sidecar.istio.io/proxyImage
 * chose their proxy themselves: they are reported, never restarted (as in Kyma).
 *
 * Owners: ReplicaSet → its Deployment, Job → its CronJob (each looked up once). Deployments, DaemonSets and
 * StatefulSets are restarted by setting the pod template annotation kubectl.kubernetes.io/restartedAt, at most
 * `maxRestarts` per run, and not while their previous rollout is still in progress (metadata.generation ahead of
 * status.observedGeneration). Jobs, CronJobs, bare pods, ReplicaSets and ReplicationControllers without a restartable
 * owner, and other controllers are listed with what to do by hand.
 */
import type { Injector } from '../inject/api.js';
import { A, L } from '../inject/annotations.js';
import { findProxy, type ContainerList } from '../inject/containers.js';
import { parseStatus } from '../inject/overrides.js';
import { canonicalResources } from '../inject/quantity.js';
import type { Container, Pod } from '../k8s/types.js';
import { asString } from '../util/json.js';
import { RESTARTABLE_KINDS, type KubeObject, type OutdatedApi, type ReadableKind, type RestartableKind } from './kube.js';

const RESOURCE_ANNOTATIONS = [A.proxyCPU, A.proxyMemory, A.proxyCPULimit, A.proxyMemoryLimit];

export interface Difference {
  /** `image`, `resources.requests.cpu`, ... */
  field: string;
  actual: string | null;
  expected: string | null;
}

export type PodStatus = 'outdated' | 'up-to-date' | 'custom-image' | 'unknown';

export interface PodReport {
  namespace: string;
  name: string;
  status: PodStatus;
  /** Where the running istio-proxy is: `initContainers` (native sidecar) or `containers`. */
  proxyIn?: ContainerList;
  /** What differs (outdated; for custom-image pods: the differences from the configuration's default proxy). */
  differences: Difference[];
  /** Why the resources were not compared, why the status is unknown, which image the annotation names. */
  notes: string[];
}

export type WorkloadAction =
  /** Rolled out (or, in a dry run, would be). */
  | 'restart'
  /** A restartable workload over --max-restarts: the next run restarts it. */
  | 'deferred'
  /** Its previous rollout is still in progress: not restarted again. */
  | 'rollout-in-progress'
  /** Not restarted by this command: see `detail`. */
  | 'manual'
  /** Nothing to restart (only custom-image or unknown pods). */
  | 'none';

export interface WorkloadReport {
  kind: string;
  namespace: string;
  name: string;
  /** The intermediate owner (`ReplicaSet web-7d9f`, `Job nightly-2926`). */
  via?: string;
  restartable: boolean;
  action: WorkloadAction;
  /** What happened or what to do. */
  detail: string;
  /** After --restart: `restarted`, `would restart` (dry run), `failed: <message>`. */
  result?: string;
  pods: PodReport[];
}

export interface OutdatedReport {
  /** The proxy the configuration injects into a plain pod (for the header). */
  expected: { image: string; resources: Record<string, Record<string, string>> | undefined } | undefined;
  namespace: string | undefined;
  /** Pods with an injected sidecar that were compared. */
  checked: number;
  upToDate: number;
  outdated: number;
  /** Pods with sidecar.istio.io/status left out: terminating or finished (Succeeded, Failed). */
  ignored: number;
  /** Workloads with outdated, custom-image or unknown pods (up-to-date ones are only counted). */
  workloads: WorkloadReport[];
  /** Set once restarts were planned: whether they were a dry run. */
  restart?: { dryRun: boolean; maxRestarts: number; restarted: number; deferred: number; failed: number };
}


function resourcesOf(c: Container): Record<string, Record<string, string>> | undefined {
  try {
    return canonicalResources(c.resources) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Image and resource differences between the running proxy and the expected one. */
function compare(actual: Container, expected: Container, compareResources: boolean): Difference[] {
  const diffs: Difference[] = [];
  if ((actual.image ?? '') !== (expected.image ?? '')) diffs.push({ field: 'image', actual: actual.image ?? null, expected: expected.image ?? null });
  if (!compareResources) return diffs;
  const a = resourcesOf(actual) ?? {};
  const e = resourcesOf(expected) ?? {};
  for (const block of ['requests', 'limits']) {
    const keys = [...new Set([...Object.keys(a[block] ?? {}), ...Object.keys(e[block] ?? {})])].sort();
    for (const key of keys) {
      const av = a[block]?.[key] ?? null;
      const ev = e[block]?.[key] ?? null;
      if (av !== ev) diffs.push({ field: `resources.${block}.${key}`, actual: av, expected: ev });
    }
  }
  return diffs;
}

/** The pod without its injection: the containers `sidecar.istio.io/status` names, and that annotation. */
function withoutInjection(pod: Pod): Pod {
  const status = parseStatus(pod.metadata?.annotations?.[A.status]);
  const annotations = { ...pod.metadata?.annotations };
  delete annotations[A.status];
  const without = (list: Container[] | undefined, names: string[] | undefined) => list?.filter((c) => !names?.includes(c?.name));
  return {
    ...pod,
    metadata: { ...pod.metadata, annotations },
    spec: { ...pod.spec, containers: without(pod.spec?.containers, status?.containers), initContainers: without(pod.spec?.initContainers, status?.initContainers) },
  };
}

/** The istio-proxy the configuration injects into `pod` now, or why there is none. */
function expectedProxy(injector: Injector, pod: Pod, namespace: string): { container: Container } | { problem: string } {
  // The pod has a sidecar, so it was meant to have one: opt it in, so that the comparison is about the proxy and not
  // about a selector or policy changed since (namespace rules still apply and are reported).
  // And compared with a fresh injection of the pod as its workload creates it: re-injecting the running pod would merge
  // the template onto its earlier injection (as Istio does), which keeps a classic proxy's image and resources when
  // the proxy is now a native sidecar.
  const fresh = withoutInjection(pod);
  const copy: Pod = { ...fresh, metadata: { ...fresh.metadata, labels: { ...(fresh.metadata?.labels ?? {}), [L.inject]: 'true' } } };
  try {
    const outcome = injector.inject({ pod: copy, namespace });
    if (outcome.kind === 'skipped') return { problem: `the current configuration would not inject this pod (${outcome.reason}); its sidecar is left alone` };
    if (outcome.kind === 'rejected') return { problem: `the current configuration would reject this pod: ${outcome.message}` };
    const proxy = findProxy(outcome.pod);
    return proxy ? { container: proxy.container } : { problem: 'the injection has no istio-proxy container' };
  } catch (err) {
    return { problem: `injecting the pod failed: ${(err as Error).message}` };
  }
}

/** Compare one pod with what the configuration injects now. */
export function checkPod(injector: Injector, pod: Pod): PodReport {
  const meta = pod.metadata ?? {};
  const namespace = asString(meta.namespace);
  const annotations = meta.annotations ?? {};
  const report: PodReport = { namespace, name: asString(meta.name), status: 'unknown', differences: [], notes: [] };
  const running = findProxy(pod);
  if (!running) {
    report.notes.push('sidecar.istio.io/status is set, but there is no istio-proxy container');
    return report;
  }
  report.proxyIn = running.where;
  const setByAnnotation = RESOURCE_ANNOTATIONS.filter((a) => annotations[a] !== undefined);
  const compareResources = setByAnnotation.length === 0;
  if (!compareResources) report.notes.push(`resources not compared: the pod sets them (${setByAnnotation.join(', ')})`);
  const customImage = annotations[A.proxyImage];
  if (customImage !== undefined) {
    // Compared with the configuration's default proxy, for information: such pods are never restarted.
    const { [A.proxyImage]: _dropped, ...rest } = annotations;
    const expected = expectedProxy(injector, { ...pod, metadata: { ...meta, annotations: rest } }, namespace);
    report.status = 'custom-image';
    report.notes.push(`proxy image set by ${A.proxyImage}: ${customImage}; never restarted`);
    if ('container' in expected) report.differences = compare(running.container, expected.container, compareResources);
    return report;
  }
  const expected = expectedProxy(injector, pod, namespace);
  if ('problem' in expected) {
    report.notes.push(expected.problem);
    return report;
  }
  report.differences = compare(running.container, expected.container, compareResources);
  report.status = report.differences.length > 0 ? 'outdated' : 'up-to-date';
  return report;
}

interface Owner {
  kind: string;
  name: string;
  namespace: string;
  via?: string;
  restartable: boolean;
  /** Why it is not restarted and what to do instead. */
  manual?: string;
}

type OwnerRef = NonNullable<NonNullable<KubeObject['metadata']>['ownerReferences']>[number];

function controllerOf(obj: { metadata?: { ownerReferences?: OwnerRef[] } } | undefined): OwnerRef | undefined {
  const refs = obj?.metadata?.ownerReferences ?? [];
  return refs.find((r) => r?.controller === true) ?? refs[0];
}

/** Resolves pod owners to the workload to restart, looking each ReplicaSet and Job up once. */
class OwnerResolver {
  private readonly cache = new Map<string, Promise<KubeObject | undefined>>();
  constructor(private readonly api: OutdatedApi) {}

  private get(kind: ReadableKind, namespace: string, name: string): Promise<KubeObject | undefined> {
    const key = `${kind}/${namespace}/${name}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.api.get(kind, namespace, name);
      this.cache.set(key, p);
    }
    return p;
  }

  async resolve(pod: Pod): Promise<Owner> {
    const namespace = asString(pod.metadata?.namespace);
    const podName = asString(pod.metadata?.name);
    const ref = controllerOf(pod as KubeObject);
    if (!ref?.kind || !ref.name) {
      return { kind: 'Pod', name: podName, namespace, restartable: false, manual: 'a bare pod (no owner): delete it and create it again' };
    }
    const direct = (kind: string, name: string, via?: string): Owner =>
      (RESTARTABLE_KINDS as readonly string[]).includes(kind)
        ? { kind, name, namespace, restartable: true, ...(via ? { via } : {}) }
        : {
            kind,
            name,
            namespace,
            restartable: false,
            ...(via ? { via } : {}),
            manual: `owned by ${kind} ${name}, which mesh-webhook does not restart: re-create its pods the way its controller allows`,
          };
    switch (ref.kind) {
      case 'ReplicaSet': {
        const rs = await this.get('ReplicaSet', namespace, ref.name);
        const owner = controllerOf(rs);
        if (owner?.kind && owner.name) return direct(owner.kind, owner.name, `ReplicaSet ${ref.name}`);
        return {
          kind: 'ReplicaSet',
          name: ref.name,
          namespace,
          restartable: false,
          manual: rs
            ? 'a ReplicaSet without a Deployment: delete its pods, the ReplicaSet creates them again'
            : 'its ReplicaSet no longer exists: delete the pod',
        };
      }
      case 'Job': {
        const job = await this.get('Job', namespace, ref.name);
        const owner = controllerOf(job);
        if (owner?.kind === 'CronJob' && owner.name) {
          return {
            kind: 'CronJob',
            name: owner.name,
            namespace,
            via: `Job ${ref.name}`,
            restartable: false,
            manual: 'Jobs are not restarted: the running Job finishes with its proxy, the next Job of the CronJob gets the current one',
          };
        }
        return {
          kind: 'Job',
          name: ref.name,
          namespace,
          restartable: false,
          manual: 'Jobs are not restarted: let it finish, or delete the Job and create it again',
        };
      }
      case 'ReplicationController':
        return { kind: ref.kind, name: ref.name, namespace, restartable: false, manual: 'a ReplicationController: delete its pods, it creates them again' };
      default:
        return direct(ref.kind, ref.name);
    }
  }
}

export interface FindOptions {
  /** undefined: every namespace. */
  namespace: string | undefined;
}

/** The pod the configuration injects into a plain container, for the report's header. */
function expectedDefault(injector: Injector): OutdatedReport['expected'] {
  const pod: Pod = { metadata: { name: 'probe', labels: { [L.inject]: 'true' } }, spec: { containers: [{ name: 'app', image: 'app' }] } };
  const expected = expectedProxy(injector, pod, 'default');
  if ('problem' in expected) return undefined;
  return { image: expected.container.image ?? '', resources: resourcesOf(expected.container) };
}

/** List the injected pods, compare each, group the ones that need attention by workload. */
export async function findOutdated(api: OutdatedApi, injector: Injector, options: FindOptions): Promise<OutdatedReport> {
  const pods = (await api.listPods(options.namespace)) as Pod[];
  const resolver = new OwnerResolver(api);
  const groups = new Map<string, WorkloadReport>();
  const manual = new Map<WorkloadReport, string>();
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
    checked += 1;
    const report = checkPod(injector, pod);
    if (report.status === 'up-to-date') {
      upToDate += 1;
      continue;
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
        restartable: owner.restartable,
        action: 'none',
        detail: '',
        pods: [],
      };
      groups.set(key, group);
      if (owner.manual) manual.set(group, owner.manual);
    }
    group.pods.push(report);
  }
  const workloads = [...groups.values()].sort((a, b) => `${a.namespace}/${a.kind}/${a.name}`.localeCompare(`${b.namespace}/${b.kind}/${b.name}`));
  for (const w of workloads) {
    w.pods.sort((a, b) => a.name.localeCompare(b.name));
    const stale = w.pods.filter((p) => p.status === 'outdated').length;
    if (stale === 0) {
      w.action = 'none';
      w.detail = w.pods.some((p) => p.status === 'custom-image')
        ? `custom proxy image (${A.proxyImage}): never restarted`
        : 'nothing to restart (see the pod notes)';
    } else if (w.restartable) {
      w.action = 'restart';
      w.detail = `kubectl rollout restart ${w.kind.toLowerCase()}/${w.name} -n ${w.namespace}`;
    } else {
      w.action = 'manual';
      w.detail = manual.get(w) ?? 'not restarted';
    }
  }
  return { expected: expectedDefault(injector), namespace: options.namespace, checked, upToDate, outdated, ignored, workloads };
}

export interface RestartOptions {
  dryRun: boolean;
  maxRestarts: number;
  /** The restartedAt value (RFC 3339); default now. */
  now?: () => Date;
}

/**
 * Plan and (unless a dry run) perform the restarts: restartable workloads with outdated pods, in report order, at
 * most `maxRestarts`; workloads whose last rollout is still in progress are skipped. Mutates and returns the report.
 */
export async function restartOutdated(api: OutdatedApi, report: OutdatedReport, options: RestartOptions): Promise<OutdatedReport> {
  const at = (options.now ?? (() => new Date()))().toISOString().replace(/\.\d{3}Z$/, 'Z');
  let restarted = 0;
  let deferred = 0;
  let failed = 0;
  for (const w of report.workloads) {
    if (w.action !== 'restart') continue;
    if (restarted >= options.maxRestarts) {
      w.action = 'deferred';
      w.detail = `over --max-restarts ${options.maxRestarts}: run again once the rollouts of this run have finished`;
      deferred += 1;
      continue;
    }
    const kind = w.kind as RestartableKind;
    try {
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
      if (options.dryRun) {
        w.result = 'would restart';
      } else {
        await api.restart(kind, w.namespace, w.name, at);
        w.result = 'restarted';
      }
      restarted += 1;
    } catch (err) {
      w.result = `failed: ${(err as Error).message}`;
      failed += 1;
    }
  }
  report.restart = { dryRun: options.dryRun, maxRestarts: options.maxRestarts, restarted, deferred, failed };
  return report;
}
