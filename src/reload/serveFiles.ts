/**
 * The files `serve` watches: the configuration (`--config`, `--values`, `--mesh`: compiled into a new runtime and
 * swapped in; with the configuration's inputs from the cluster, watched there) and the serving certificate
 * (`--cert`/`--key`: swapped for new connections). A bad change keeps what is served (src/reload/config.ts,
 * src/reload/certificates.ts say how it is counted and logged).
 */
import type { LoadConfigOptions } from '../config/load.js';
import type { InjectorConfig } from '../config/types.js';
import type { WebhookMetrics } from '../metrics.js';
import type { TlsMaterial } from '../tls/load.js';
import { watchCertificates, type CertificateReloader } from './certificates.js';
import { watchConfig, type ConfigInputs, type ConfigReloader, type ReloadLogger } from './config.js';

export interface ServeFilesOptions<R> {
  /**
   * Reload the configuration: what it was loaded from (the flags, and inputs from the cluster), its files' hash at that
   * load, and how a config is compiled.
   */
  config?: { load: LoadConfigOptions; inputs?: ConfigInputs; baseline?: string; compile: (config: InjectorConfig) => R; apply: (runtime: R) => void };
  /** Reload the serving certificate files. */
  certificates?: { certFile: string; keyFile: string; baseline?: string; apply: (tls: TlsMaterial) => void };
  logger: ReloadLogger;
  metrics: WebhookMetrics;
  /** Quiet time after a file event before reloading; default the reloaders'. */
  debounceMs?: number;
}

export interface ServeFiles {
  close(): void;
}

/** Start watching; resolves once both watches are in place. On failure nothing is left watching. */
export async function watchServeFiles<R>(opts: ServeFilesOptions<R>): Promise<ServeFiles> {
  const common = { logger: opts.logger, metrics: opts.metrics, ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}) };
  let config: ConfigReloader | undefined;
  let certificates: CertificateReloader | undefined;
  const close = () => {
    config?.close();
    certificates?.close();
  };
  try {
    if (opts.config) {
      const { load, inputs, baseline, compile, apply } = opts.config;
      // The injector, validator and explainer are compiled in one step and installed with one assignment.
      config = watchConfig<R>({ load, apply, compile, ...(inputs ? { inputs } : {}), ...(baseline !== undefined ? { baseline } : {}), ...common });
    }
    if (opts.certificates) {
      const { certFile, keyFile, baseline, apply } = opts.certificates;
      certificates = watchCertificates({ certFile, keyFile, apply, ...(baseline !== undefined ? { baseline } : {}), ...common });
    }
    await Promise.all([config?.ready, certificates?.ready]);
  } catch (err) {
    close();
    throw err;
  }
  return { close };
}
