/**
 * Where `mesh-webhook outdated` takes its cluster from, in the order kubectl and loadCliKubeConfig (src/cluster/
 * client.ts) use: --kubeconfig, else the service account in a pod, else the files of $KUBECONFIG, else
 * ~/.kube/config. Named in every message about a cluster that cannot be reached, and checked first: without a file,
 * client-node would fall back to http://localhost:8080 and fail with a message about TLS settings.
 */
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inClusterAvailable } from '../cluster/client.js';
import { fileReadProblem } from '../util/fileError.js';

export interface KubeconfigSource {
  /** "kubeconfig a.yaml (--kubeconfig)", "the service account of this pod", ... */
  description: string;
  /** Why it cannot be used, with what to do; undefined when it can be tried. */
  problem?: string;
}

/** Why `file` cannot be read as a kubeconfig ("does not exist", "is a directory, not a file"), or undefined. */
function fileProblem(file: string): string | undefined {
  try {
    return statSync(file).isDirectory() ? fileReadProblem(Object.assign(new Error(file), { code: 'EISDIR' })) : undefined;
  } catch (err) {
    return fileReadProblem(err);
  }
}

export function kubeconfigSource(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): KubeconfigSource {
  if (kubeconfig !== undefined) {
    const description = `kubeconfig ${kubeconfig} (--kubeconfig)`;
    const problem = fileProblem(kubeconfig);
    return problem === undefined ? { description } : { description, problem: `kubeconfig file ${kubeconfig} (--kubeconfig) ${problem}: pass the path of a kubeconfig file to --kubeconfig` };
  }
  if (inClusterAvailable(env)) return { description: 'the service account of this pod' };
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
  if (listed.length > 0) {
    const description = `kubeconfig ${listed.join(path.delimiter)} ($KUBECONFIG)`;
    const bad = listed.find((f) => fileProblem(f) !== undefined);
    return bad === undefined ? { description } : { description, problem: `kubeconfig file ${bad} named by $KUBECONFIG ${fileProblem(bad)}: fix KUBECONFIG, or pass --kubeconfig FILE` };
  }
  const fallback = path.join(home, '.kube', 'config');
  if (existsSync(fallback)) return { description: `kubeconfig ${fallback}` };
  return {
    description: 'no kubeconfig',
    problem: `no cluster to check: no --kubeconfig, KUBECONFIG is not set and ${fallback} does not exist (and this is not a pod with a service account): pass --kubeconfig FILE, or set KUBECONFIG to the kubeconfig kubectl uses`,
  };
}
