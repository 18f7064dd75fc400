/**
 * Which workload a pod belongs to and what `--restart` does with it: ReplicaSet → its Deployment, Job → its CronJob
 * (each ReplicaSet and Job looked up once). Deployments, DaemonSets and StatefulSets are rolled out; the outdated pods
 * of a ReplicaSet without an owner and of a ReplicationController are deleted (their controller creates them again,
 * as the Kyma Istio module does); Jobs, CronJobs, bare pods and other owners are left to the operator.
 */
import { KubeApiError } from '../cluster/client.js';
import type { Pod } from '../k8s/types.js';
import { asString, isPlainObject } from '../util/json.js';
import { RESTARTABLE_KINDS, type KubeObject, type OutdatedApi, type ReadableKind } from './kube.js';

/** What --restart does with the owner: roll it out, delete its outdated pods, or nothing (`manual` says what to do). */
export type OwnerAction = 'rollout' | 'delete-pods' | 'manual';

export interface Owner {
  kind: string;
  name: string;
  namespace: string;
  /** The intermediate owner (`ReplicaSet web-7d9f`). */
  via?: string;
  action: OwnerAction;
  /** Why it is not restarted and what to do instead (action `manual`). */
  manual?: string;
}

type OwnerRef = NonNullable<NonNullable<KubeObject['metadata']>['ownerReferences']>[number];

/** The controller among the owner references, else the first (Kyma's restarter takes the first). */
export function controllerOf(obj: { metadata?: { ownerReferences?: OwnerRef[] } } | undefined): OwnerRef | undefined {
  const refs = obj?.metadata?.ownerReferences ?? [];
  return refs.find((r) => r?.controller === true) ?? refs[0];
}

/** Resolves pod owners to the workload to restart, looking each ReplicaSet and Job up once. */
export class OwnerResolver {
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
      return { kind: 'Pod', name: podName, namespace, action: 'manual', manual: 'a bare pod (no owner): delete it and create it again' };
    }
    const direct = (kind: string, name: string, via?: string): Owner =>
      (RESTARTABLE_KINDS as readonly string[]).includes(kind)
        ? { kind, name, namespace, action: 'rollout', ...(via ? { via } : {}) }
        : {
            kind,
            name,
            namespace,
            action: 'manual',
            ...(via ? { via } : {}),
            manual: `owned by ${kind} ${name}, which mesh-webhook does not restart: re-create its pods the way its controller allows`,
          };
    switch (ref.kind) {
      case 'ReplicaSet': {
        const rs = await this.get('ReplicaSet', namespace, ref.name);
        if (!rs) return { kind: 'ReplicaSet', name: ref.name, namespace, action: 'manual', manual: 'its ReplicaSet no longer exists: delete the pod' };
        const owner = controllerOf(rs);
        if (owner?.kind && owner.name) return direct(owner.kind, owner.name, `ReplicaSet ${ref.name}`);
        return { kind: 'ReplicaSet', name: ref.name, namespace, action: 'delete-pods' };
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
            action: 'manual',
            manual: 'Jobs are not restarted: the running Job finishes with its proxy, the next Job of the CronJob gets the current one',
          };
        }
        return { kind: 'Job', name: ref.name, namespace, action: 'manual', manual: 'Jobs are not restarted: let it finish, or delete the Job and create it again' };
      }
      case 'ReplicationController':
        return { kind: ref.kind, name: ref.name, namespace, action: 'delete-pods' };
      default:
        return direct(ref.kind, ref.name);
    }
  }

  /**
   * The labels and annotations of the pod template the pod's controller (ReplicaSet, Job, DaemonSet, StatefulSet,
   * ReplicationController) created it from: what the workload declares, as opposed to what an injector added. A
   * ReplicaSet or Job is the one {@link resolve} looked up. `problem` says why there is none (a bare pod, another
   * owner, a controller that cannot be read).
   */
  async podTemplate(pod: Pod): Promise<{ metadata: TemplateMetadata } | { problem: string }> {
    const namespace = asString(pod.metadata?.namespace);
    const ref = controllerOf(pod as KubeObject);
    if (!ref?.kind || !ref.name) return { problem: 'a bare pod has no pod template' };
    const kind = ref.kind;
    if (!(TEMPLATE_KINDS as readonly string[]).includes(kind)) return { problem: `its owner ${kind} ${ref.name} has no pod template mesh-webhook reads` };
    let owner: KubeObject | undefined;
    try {
      owner = await this.get(kind as ReadableKind, namespace, ref.name);
    } catch (err) {
      if (err instanceof KubeApiError) return { problem: `the pod template of ${kind} ${ref.name} could not be read (${err.message})` };
      throw err;
    }
    const template = (owner?.spec as { template?: { metadata?: unknown } } | undefined)?.template;
    if (!owner || !isPlainObject(template)) return { problem: `${kind} ${ref.name} ${owner ? 'has no pod template' : 'no longer exists'}` };
    const meta = isPlainObject(template.metadata) ? template.metadata : {};
    const strings = (v: unknown): Record<string, string> =>
      isPlainObject(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
    return { metadata: { labels: strings(meta['labels']), annotations: strings(meta['annotations']) } };
  }
}

/** The controllers whose pod template `outdated --diff` reads. */
const TEMPLATE_KINDS = ['ReplicaSet', 'Job', 'DaemonSet', 'StatefulSet', 'ReplicationController'] as const;

export interface TemplateMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
