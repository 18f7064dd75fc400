/**
 * `mesh-webhook outdated`: pods whose sidecar differs from what the current configuration injects, grouped by
 * workload; with --restart, the rollouts that replace them (a dry run unless --dry-run=false). See src/outdated/.
 */
import { loadConfig } from '../config/load.js';
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
  const injector = createInjector(loadConfig(args.config)); // invalid configuration: fail before connecting
  try {
    const cluster = api ?? (await connectOutdatedApi(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}));
    const namespace = args.allNamespaces ? undefined : (args.namespace ?? cluster.contextNamespace ?? 'default');
    const report = await findOutdated(cluster, injector, { namespace });
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

/** A failed restart first (something went wrong), then outdated pods when the pipeline asked to fail on them. */
function exitCode(report: OutdatedReport, failOnOutdated: boolean): number {
  if ((report.restart?.failed ?? 0) > 0) return EXIT.failed;
  return failOnOutdated && report.outdated > 0 ? EXIT.outdatedFound : EXIT.ok;
}
