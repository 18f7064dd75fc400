/**
 * `mesh-webhook outdated`: pods whose sidecar differs from what the current configuration injects, grouped by
 * workload; with --restart, the rollouts that replace them (a dry run unless --dry-run=false). See src/outdated/.
 */
import { loadConfig } from '../config/load.js';
import { KubeApiError } from '../cluster/client.js';
import { createInjector } from '../inject/index.js';
import { formatOutdatedJson, formatOutdatedText } from '../outdated/format.js';
import { findOutdated, restartOutdated } from '../outdated/index.js';
import { connectOutdatedApi, KubeconfigError, type OutdatedApi } from '../outdated/kube.js';
import type { OutdatedArgs } from './args.js';
import { InputError } from './errors.js';

/** Runs the command against `api` (tests) or the configured cluster: 0, or 1 when a restart failed. */
export async function runOutdated(args: OutdatedArgs, api?: OutdatedApi, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const injector = createInjector(loadConfig(args.config)); // invalid configuration: fail before connecting
  let cluster = api;
  if (!cluster) {
    try {
      cluster = await connectOutdatedApi(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {});
    } catch (err) {
      if (err instanceof KubeconfigError) throw new InputError(err.message);
      throw err;
    }
  }
  const namespace = args.allNamespaces ? undefined : (args.namespace ?? cluster.contextNamespace ?? 'default');
  try {
    const report = await findOutdated(cluster, injector, { namespace });
    if (args.restart) await restartOutdated(cluster, report, { dryRun: args.dryRun, maxRestarts: args.maxRestarts });
    out.write(args.output === 'json' ? formatOutdatedJson(report) : formatOutdatedText(report));
    return (report.restart?.failed ?? 0) > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof KubeApiError) throw new InputError(err.message);
    throw err;
  }
}
