/** The workload a pod belongs to (Istio's GetDeployMetaFromPod): used for ISTIO_META_OWNER, workload name and canonical name. */
import type { Pod } from '../k8s/types.js';
import { asString } from '../util/json.js';
import type { PodSubject, WorkloadRef } from './api.js';

export interface DeployMeta {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

const CRONJOB_JOB_NAME = /^(.+)-\d{8,10}$/;

export function deployMetaFromPod(pod: Pod, namespace: string, workload?: WorkloadRef): DeployMeta {
  if (workload) return { apiVersion: workload.apiVersion, kind: workload.kind, name: workload.name, namespace };
  const meta = pod.metadata ?? {};
  const result: DeployMeta = { apiVersion: 'v1', kind: 'Pod', name: asString(meta.name), namespace };
  const owners: unknown = meta.ownerReferences;
  const controller = Array.isArray(owners) ? owners.find((o) => typeof o === 'object' && o !== null && o.controller === true) : undefined;
  if (!asString(meta.generateName) || !controller) return result;
  result.apiVersion = asString(controller.apiVersion);
  result.kind = asString(controller.kind);
  result.name = asString(controller.name);
  const labels: Record<string, unknown> = typeof meta.labels === 'object' && meta.labels !== null ? meta.labels : {};
  if (result.kind === 'ReplicaSet') {
    const hash = asString(labels['pod-template-hash']);
    const rolloutHash = asString(labels['rollouts-pod-template-hash']);
    if (hash && result.name.endsWith(`-${hash}`)) {
      return { ...result, kind: 'Deployment', apiVersion: 'apps/v1', name: result.name.slice(0, -(hash.length + 1)) };
    }
    if (rolloutHash && result.name.endsWith(`-${rolloutHash}`)) {
      return { ...result, kind: 'Rollout', apiVersion: 'v1alpha1', name: result.name.slice(0, -(rolloutHash.length + 1)) };
    }
  } else if (result.kind === 'ReplicationController' && asString(labels.deploymentconfig)) {
    return { ...result, kind: 'DeploymentConfig', name: asString(labels.deploymentconfig) };
  } else if (result.kind === 'Job') {
    const m = CRONJOB_JOB_NAME.exec(result.name);
    if (m) return { ...result, kind: 'CronJob', apiVersion: 'batch/v1', name: m[1]! };
  }
  return result;
}

/** The namespace of a pod as Istio resolves it: `metadata.namespace`, else the request's namespace. */
export function podNamespace(pod: Pod, requestNamespace: string | undefined): string {
  const own = pod.metadata?.namespace;
  return (typeof own === 'string' && own) || requestNamespace || '';
}

/**
 * The pod's namespace and owning workload (`Kind/name`) as the injector resolves them; undefined when `pod` cannot be
 * read. The edge calls it for the log line of a pod the injector never saw (deadline passed, count caps).
 */
export function podSubject(pod: unknown, requestNamespace: string | undefined, workload?: WorkloadRef): PodSubject | undefined {
  if (typeof pod !== 'object' || pod === null || Array.isArray(pod)) return undefined;
  try {
    const namespace = podNamespace(pod as Pod, requestNamespace);
    const meta = deployMetaFromPod(pod as Pod, namespace, workload);
    return { namespace, ...(meta.name ? { workload: `${meta.kind}/${meta.name}` } : {}) };
  } catch {
    return undefined;
  }
}
