/**
 * The `kyma-module` profile: what the Kyma Istio module (kyma-project/istio) makes Istio's injector do. The module
 * installs Istio from one of two IstioOperator files (src/config/kymaModuleData.ts), chosen by the cluster's size,
 * on top of Istio's `default` profile; Istio's installer translates `spec.hub`/`spec.tag` to `values.global` and the
 * CNI component to `values.pilot.cni.enabled` (istio/istio operator/pkg/render/manifest.go,
 * translateIstioOperatorToHelm).
 */
import type { JsonObject } from '../k8s/types.js';
import { compareQuantities, isQuantity, sumQuantities } from '../inject/quantity.js';
import { ISTIO_MESH_CONFIG, ISTIO_VALUES } from './istio-defaults.js';
import {
  KYMA_MODULE_CNI,
  KYMA_MODULE_EVALUATION_VALUES,
  KYMA_MODULE_HUB,
  KYMA_MODULE_MESH_CONFIG,
  KYMA_MODULE_TAG,
  KYMA_MODULE_VALUES,
} from './kymaModuleData.js';
import { deepMerge } from './merge.js';
import type { ClusterView } from '../cluster/view.js';
import type { ClusterSize } from './types.js';

/** Helm values of one size: Istio's chart defaults ← the module's values ← what the installer translates. */
export function kymaModuleValues(size: ClusterSize): JsonObject {
  const module = size === 'evaluation' ? deepMerge(KYMA_MODULE_VALUES, KYMA_MODULE_EVALUATION_VALUES) : KYMA_MODULE_VALUES;
  const translated: JsonObject = { global: { hub: KYMA_MODULE_HUB, tag: KYMA_MODULE_TAG }, pilot: { cni: { enabled: KYMA_MODULE_CNI } } };
  return deepMerge(deepMerge(ISTIO_VALUES, module), translated);
}

/** MeshConfig: Istio's defaults ← the module's meshConfig (the same for both sizes). */
export function kymaModuleMeshConfig(): JsonObject {
  return deepMerge(ISTIO_MESH_CONFIG, KYMA_MODULE_MESH_CONFIG);
}

/**
 * The module's thresholds (internal/clusterconfig/clusterconfig.go): a cluster below 5 CPUs or below 10 gigabytes of
 * memory in total is an evaluation cluster. The memory threshold is decimal (resource.NewScaledQuantity(10, Giga)):
 * 10G, about 9.31Gi.
 */
export const PRODUCTION_MIN_CPU = '5';
export const PRODUCTION_MIN_MEMORY = '10G';

/** A node's `status.capacity` as the cache keeps it. */
export interface NodeCapacity {
  cpu?: string;
  memory?: string;
}

/** A node's `status.capacity` as {@link NodeCapacity}: the cpu and memory quantities that parse (others count as none). */
export function nodeCapacity(capacity: Record<string, unknown> | undefined): NodeCapacity {
  const out: NodeCapacity = {};
  for (const key of ['cpu', 'memory'] as const) {
    const value = capacity?.[key];
    if ((typeof value === 'string' || typeof value === 'number') && isQuantity(String(value))) out[key] = String(value);
  }
  return out;
}

/**
 * EvaluateClusterSize: the total capacity of every node, evaluation below either threshold. A node without a (readable)
 * capacity adds nothing, as in the module (Quantity.Add of a zero quantity).
 */
export function clusterSizeOf(nodes: Iterable<NodeCapacity>): ClusterSize {
  const cpus: string[] = [];
  const memories: string[] = [];
  for (const node of nodes) {
    if (node.cpu !== undefined) cpus.push(node.cpu);
    if (node.memory !== undefined) memories.push(node.memory);
  }
  const cpu = sumQuantities(cpus) ?? '0';
  const memory = sumQuantities(memories) ?? '0';
  const below = (total: string, min: string) => (compareQuantities(total, min) ?? -1) < 0;
  return below(cpu, PRODUCTION_MIN_CPU) || below(memory, PRODUCTION_MIN_MEMORY) ? 'evaluation' : 'production';
}

/**
 * The size `auto` injects with now: the cluster's, from the node cache; production while no node is known (and
 * without a cluster), the module's default IstioOperator.
 */
export function autoClusterSize(cluster: ClusterView | undefined): ClusterSize {
  return cluster?.clusterSize?.() ?? 'production';
}
