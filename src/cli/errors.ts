/**
 * Exit codes of the CLI (README, "CLI"): 0 ok; 1 bad input (configuration, manifests, files), `validate` found
 * errors, or a restart of `outdated` failed; 2 bad command line; 3 `outdated --fail-on-outdated` found outdated pods;
 * 4 no cluster to talk to (`outdated`: no usable kubeconfig, or the API server cannot be reached); 70 internal error.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, outdatedFound: 3, noCluster: 4, internal: 70 } as const;

/** An input or output file the operator named cannot be used (exit 1, message only). */
export class InputError extends Error {
  override name = 'InputError';
  readonly exitCode: number = EXIT.failed;
}

/** The cluster cannot be reached or its kubeconfig used (exit 4, message only): the check could not run at all. */
export class NoClusterError extends InputError {
  override name = 'NoClusterError';
  override readonly exitCode: number = EXIT.noCluster;
}
