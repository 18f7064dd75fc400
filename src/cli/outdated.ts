/**
 * `mesh-webhook outdated`: pods whose sidecar differs from what the current configuration injects, grouped by
 * workload; with --restart, the rollouts that replace them (a dry run unless --dry-run=false). See src/outdated/.
 */
import type { ClusterView } from '../cluster/view.js';
import { clusterSizeOf, nodeCapacity } from '../config/kymaModule.js';
import { loadConfig } from '../config/load.js';
import type { ClusterSize, InjectorConfig } from '../config/types.js';
import { KubeApiError } from '../cluster/client.js';
import { createInjector } from '../inject/index.js';
import { formatOutdatedJson, formatOutdatedText } from '../outdated/format.js';
import { findOutdated, restartOutdated, type OutdatedReport } from '../outdated/index.js';
import { ClusterUnreachableError, connectOutdatedApi, type OutdatedApi } from '../outdated/kube.js';
import type { OutdatedArgs } from './args.js';
import { EXIT, InputError, NoClusterError } from './errors.js';

/**
 * Runs the command against `api` (tests) or the configured cluster: 0; 1 when a restart failed; 3 with
 * --fail-on-outdated when a pod is outdated. No cluster to talk to is a {@link NoClusterError} (exit 4).
 */
export async function runOutdated(args: OutdatedArgs, api?: OutdatedApi, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  // Invalid configuration: fail before connecting. A served revision (--revision) only selects pods; the sidecar is
  // rendered for values.revision all the same, so every injected pod is compared, whichever webhook injected it.
  const { servedRevision: _selectionOnly, ...config } = loadConfig(args.config);
  createInjector(config); // ... and before listing anything: a configuration that does not compile
  try {
    const cluster = api ?? (await connectOutdatedApi(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}));
    const size = await clusterSizeFor(config, cluster);
    const injector = createInjector(config, size ? sizeView(size) : undefined);
    const namespace = args.allNamespaces ? undefined : (args.namespace ?? cluster.contextNamespace ?? 'default');
    const report = await findOutdated(cluster, injector, { namespace, diff: args.diff });
    if (size) report.clusterSize = size;
    if (args.restart) {
      await restartOutdated(cluster, report, {
        dryRun: args.dryRun,
        maxRestarts: args.maxRestarts,
        ...(args.restartAnnotation !== undefined ? { annotation: args.restartAnnotation } : {}),
      });
    }
    out.write(args.output === 'json' ? formatOutdatedJson(report) : formatOutdatedText(report));
    return exitCode(report, args.failOnOutdated);
  } catch (err) {
    if (err instanceof ClusterUnreachableError) throw new NoClusterError(err.message);
    if (err instanceof KubeApiError) throw new InputError(err.message);
    throw err;
  }
}

/**
 * kyma-module with `clusterSize: auto`: the module's size of the cluster, from its nodes now (the module's restarter
 * evaluates it the same way before comparing); undefined for a fixed size or another profile.
 */
async function clusterSizeFor(config: InjectorConfig, api: OutdatedApi): Promise<ClusterSize | undefined> {
  if (config.clusterSize?.setting !== 'auto') return undefined;
  try {
    const nodes = await api.listNodes();
    return clusterSizeOf(nodes.map((n) => nodeCapacity((n.status as { capacity?: Record<string, unknown> } | undefined)?.capacity)));
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      throw new InputError(
        `${err.message}: --cluster-size auto (kyma-module's default) reads the nodes' capacity; grant list on nodes or pass --cluster-size evaluation|production`,
      );
    }
    throw err;
  }
}

/** What the injector may know here: only the size (no namespace labels, no node versions). */
const sizeView = (size: ClusterSize): ClusterView => ({ namespaceLabels: () => undefined, nativeSidecarsSupported: () => undefined, clusterSize: () => size });

/** A failed restart first (something went wrong), then outdated pods when the pipeline asked to fail on them. */
function exitCode(report: OutdatedReport, failOnOutdated: boolean): number {
  if ((report.restart?.failed ?? 0) > 0) return EXIT.failed;
  return failOnOutdated && report.outdated > 0 ? EXIT.outdatedFound : EXIT.ok;
}
