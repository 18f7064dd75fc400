import type { ClusterSize } from '../config/types.js';

/**
 * What the injector may know about the cluster, from caches filled by informers (never an API call on the request
 * path). Every answer may be "unknown": the injector then falls back to its configuration.
 */
export interface ClusterView {
  /** Labels of a namespace, or undefined when the namespace is not (yet) known. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /**
   * Whether native sidecars can be used: the pod's node (when already scheduled) or else every node runs a kubelet
   * of Kubernetes 1.33 or newer. Undefined when no node is known.
   */
  nativeSidecarsSupported(nodeName?: string): boolean | undefined;
  /**
   * The Kyma Istio module's size of the cluster from the total capacity of its nodes (src/config/kymaModule.ts).
   * Undefined when no node is known. Optional: views that know no nodes leave it out.
   */
  clusterSize?(): ClusterSize | undefined;
}

/** The first Kubernetes minor version whose kubelet runs native sidecars the way Istio needs them. */
export const NATIVE_SIDECAR_MIN_MINOR = 33;

/** Minor version of a kubelet version string (`v1.33.2`, `v1.33.2-gke.1`, `1.34`); undefined when unreadable. */
export function kubeletMinor(version: string | undefined): number | undefined {
  const m = /^v?1\.(\d+)(?:\.|$|[-+])/.exec(version ?? '');
  return m ? Number(m[1]) : undefined;
}
