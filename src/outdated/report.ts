/** What `mesh-webhook outdated` reports: per pod what differs, per workload what is (or would be) done. */
import type { ClusterSize } from '../config/types.js';
import type { ContainerList } from '../inject/containers.js';
import type { SidecarDifference } from './sidecarDiff.js';

export type { SidecarDifference } from './sidecarDiff.js';

export interface Difference {
  /**
   * What differs: `image`, `resources.requests.cpu`, `initContainer` (istio-init or istio-validation: CNI switched),
   * `annotations.prometheus.io/port` (Prometheus merge), `proxyConfig.<key>`, `proxyConfig.proxyMetadata.<KEY>`,
   * `env.<KEY>` (a proxyMetadata variable of istio-proxy).
   */
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
  /** A ReplicaSet without an owner or a ReplicationController: its outdated pods are deleted, it creates them again. */
  | 'delete-pods'
  /** A restartable workload over --max-restarts, or a customer workload after a Kyma workload failed: the next run. */
  | 'deferred'
  /** Its previous rollout is still in progress (generation not observed, or a not-ready ReplicaSet): not restarted. */
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
  /** Kyma's own workload (namespace kyma-system, or a pod labelled kyma-project.io/module): listed and restarted first. */
  kyma: boolean;
  /** Whether --restart acts on it (a rollout, or deleting its pods). */
  restartable: boolean;
  action: WorkloadAction;
  /** What happened or what to do. */
  detail: string;
  /**
   * After --restart: `restarted`, `would restart` (dry run), `deleted N pod(s)`, `would delete N pod(s)`,
   * `failed: <message>`.
   */
  result?: string;
  /** The outdated, custom-image and unknown pods (up-to-date ones are only counted). */
  pods: PodReport[];
  /** --diff: one of its running, ready pods compared field by field with what mesh-webhook injects into it. */
  diff?: PodDiff;
}

/** `outdated --diff` for one pod of a workload (src/outdated/diffView.ts). */
export interface PodDiff {
  /** The pod compared (the workload's first by name). */
  pod: string;
  /** Every field of the injected parts that differs, live (the running pod) against ours; empty: none. */
  differences: SidecarDifference[];
  /** How the comparison was made, or why it could not be. */
  notes: string[];
  /** False when there is nothing to compare with (the configuration would not inject the pod, ...). */
  compared: boolean;
}

/** A pod with a sidecar that was not compared because it is not running and ready. */
export interface NotReadyPod {
  namespace: string;
  name: string;
  /** `phase Pending`, `condition Ready is False`. */
  reason: string;
}

export interface RestartSummary {
  dryRun: boolean;
  maxRestarts: number;
  /** The pod template annotation the rollouts set. */
  annotation: string;
  /** Workloads rolled out or whose pods were deleted (or would be). */
  restarted: number;
  /** Pods deleted (or that would be) for the `delete-pods` workloads among them. */
  deletedPods: number;
  deferred: number;
  failed: number;
}

export interface OutdatedReport {
  /** kyma-module with clusterSize auto: the module's size of the cluster the comparison used. */
  clusterSize?: ClusterSize;
  /** The proxy the configuration injects into a plain pod (for the header). */
  expected: { image: string; resources: Record<string, Record<string, string>> | undefined } | undefined;
  namespace: string | undefined;
  /** Pods with an injected sidecar that were compared (running and ready). */
  checked: number;
  upToDate: number;
  outdated: number;
  /** Pods with sidecar.istio.io/status left out: terminating or finished (Succeeded, Failed). */
  ignored: number;
  /** Pods with sidecar.istio.io/status not compared, never restarted: pending, or a status condition not True. */
  notReady: NotReadyPod[];
  /**
   * Workloads with outdated, custom-image or unknown pods (up-to-date ones are only counted; with --diff every
   * workload with a compared pod); Kyma's first.
   */
  workloads: WorkloadReport[];
  /** Set once restarts were planned: whether they were a dry run. */
  restart?: RestartSummary;
}
