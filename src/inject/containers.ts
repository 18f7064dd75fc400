/**
 * The containers the injector adds, by name, and where a pod has its istio-proxy: a classic sidecar in `containers`,
 * a native one (restartPolicy Always) in `initContainers`. No other module of the injector is needed to read them, so
 * the outdated check and the validator use them without pulling the template in.
 */
import type { Container, Pod } from '../k8s/types.js';

export const PROXY_CONTAINER = 'istio-proxy';
export const INIT_CONTAINER = 'istio-init';
export const VALIDATION_CONTAINER = 'istio-validation';
export const CORE_DUMP_CONTAINER = 'enable-core-dump';

/** The list of the pod spec a container is in. */
export type ContainerList = 'containers' | 'initContainers';

/**
 * The pod's istio-proxy and the list it is in; a regular container is looked for first. (Kubernetes refuses a pod
 * that has one name in both lists, so the order only matters for a pod the API server has not yet checked.)
 */
export function findProxy(pod: Pod): { container: Container; where: ContainerList } | undefined {
  for (const where of ['containers', 'initContainers'] as const) {
    const container = pod.spec?.[where]?.find((c) => c?.name === PROXY_CONTAINER);
    if (container) return { container, where };
  }
  return undefined;
}

/** Whether the pod's istio-proxy is a native sidecar: an init container. */
export function hasNativeProxy(pod: Pod): boolean {
  return pod.spec?.initContainers?.some((c) => c.name === PROXY_CONTAINER) ?? false;
}
