import type { InjectorConfig } from '../config/types.js';
import type { Pod } from '../k8s/types.js';
import type { DecisionRule, DecisionTrace } from './decision.js';
import type { InjectionProblem } from './safety.js';

/** One RFC 6902 operation, as sent back to the API server (base64 of a JSON array of these). */
export type PatchOperation =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** The workload a pod template belongs to (offline injection of Deployments, Jobs, ...). */
export interface WorkloadRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface InjectionRequest {
  /** The pod (`request.object` of the AdmissionReview, or a workload's pod template as a Pod). */
  pod: Pod;
  /** `request.namespace`: used when the pod has no `metadata.namespace`. */
  namespace?: string;
  /** Proxy environment from the webhook URL path (`/inject/cluster/X/net/Y` → cluster=X, net=Y). */
  pathParams?: Record<string, string>;
  /** Offline injection: the workload that owns the template (replaces the ownerReferences heuristics). */
  workload?: WorkloadRef;
  /** Carry the decision trace (every rule evaluated, in order) in the outcome; the debug log line asks for it. */
  trace?: boolean;
}

/**
 * Why the injector rejected a pod, as a bounded value (metrics labels, the validator's finding path); the `reason`
 * text beside it names user-supplied values and is for logs and audit annotations only.
 */
export type RejectionCategory =
  /** A field the injector reads has the wrong shape. */
  | 'invalidPod'
  /** An injection annotation's value is invalid, or the proxy resource annotations ask for a request above the limit. */
  | 'invalidAnnotation'
  /** inject.istio.io/templates names a template other than sidecar. */
  | 'unknownTemplate'
  /** prometheus.io/port or the scrape-targets annotation is invalid or names a port the proxy reserves. */
  | 'invalidPrometheusPort'
  /** A safety setting forbids what the pod asks for (MW060x). */
  | 'unsafeInjection'
  /** A declared istio-proxy/istio-init (or overrides) would request more than the configured limit. */
  | 'injectedResources';

/** The pod an outcome is about, as the injector resolved it (the edge logs these; it never works them out again). */
export interface PodSubject {
  /** `metadata.namespace`, else the request's namespace (Istio's rule). */
  namespace: string;
  /** The owning workload as `Kind/name` (a ReplicaSet's pod belongs to its Deployment), when there is one. */
  workload?: string;
}

/**
 * What the injector decided and did for one pod. Every outcome carries a reason for logs and audit annotations, and
 * (unless the pod could not be read) the resolved {@link PodSubject}.
 */
export type InjectionOutcome =
  | { kind: 'injected'; reason: string; pod: Pod; patch: () => PatchOperation[]; rule?: DecisionRule; subject?: PodSubject; trace?: DecisionTrace }
  | { kind: 'skipped'; reason: string; rule?: DecisionRule; subject?: PodSubject; trace?: DecisionTrace }
  | {
      kind: 'rejected';
      subject?: PodSubject;
      /** The decision trace, when asked for and the pod got as far as the decision. */
      trace?: DecisionTrace;
      reason: string;
      category: RejectionCategory;
      message: string;
      /** Where in the pod the reason is, when one place is: `metadata.annotations["..."]`, `spec`. */
      at?: string;
      /** The safety problems of the injected containers (MW0603-MW0606), when that is why the pod is rejected. */
      problems?: InjectionProblem[];
    };

/** A configuration compiled once at load: everything config-dependent is computed here, not per request. */
export interface Injector {
  readonly config: InjectorConfig;
  inject(request: InjectionRequest): InjectionOutcome;
}
