/** Where the serving certificate comes from (`serve --certificates`). Dependency-free: the CLI parser imports it. */
export type CertificateMode = 'self-managed' | 'files' | 'dev';
export const CERTIFICATE_MODES: readonly CertificateMode[] = ['self-managed', 'files', 'dev'];

/**
 * The certificate mode: the one asked for, else `files` with --cert/--key, `self-managed` when a cluster is
 * available, `dev` otherwise.
 */
export function resolveCertificateMode(asked: CertificateMode | undefined, ctx: { hasCertFiles: boolean; clusterAvailable: boolean }): CertificateMode {
  if (asked !== undefined) return asked;
  if (ctx.hasCertFiles) return 'files';
  return ctx.clusterAvailable ? 'self-managed' : 'dev';
}
