/**
 * Configuration hot reload: when a configuration file changes (`--config`, typically a mounted ConfigMap, and the
 * `--values`/`--mesh` files), the whole configuration is loaded again with the same options as at start (profile,
 * files, `--set`, `--native-sidecars`), validated and compiled, and only then swapped in with one assignment
 * (`apply`, i.e. RunningServer.setInjector). A request reads the injector once when it starts, so requests already
 * running finish with the one they started with and none sees half a configuration.
 *
 * An invalid change is logged with the reason (the ConfigError message names the key and the bad value), counted in
 * `mesh_webhook_config_reloads_total{result="failure"}`, and the last good configuration stays in use.
 */
import { loadConfigWithNotes, type LoadConfigOptions } from '../config/load.js';
import type { InjectorConfig } from '../config/types.js';
import type { Injector } from '../inject/api.js';
import { createInjector } from '../inject/index.js';
import type { WebhookMetrics } from '../metrics.js';
import { snapshotFiles, watchFiles, type FileSnapshot, type FileWatcher, type WatchLogger } from './watchFiles.js';

export interface ReloadLogger extends WatchLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * `T` is what a configuration compiles to: an Injector by default, or what the server runs with (the injector and
 * the validator, compiled together and applied with one call so they always come from the same configuration).
 */
export interface ConfigReloaderOptions<T = Injector> {
  /** The options the running configuration was loaded with (the CLI's config flags); every reload uses them. */
  load: LoadConfigOptions;
  /** Install what the new configuration compiled to (RunningServer.setInjector). */
  apply: (compiled: T) => void;
  /**
   * Compile a loaded configuration; default `createInjector` (pass one that adds the cluster view). Required when
   * `T` is not Injector.
   */
  compile?: (config: InjectorConfig) => T;
  logger: ReloadLogger;
  metrics: WebhookMetrics;
  /**
   * {@link configBaseline} taken before the running configuration was loaded, so a change in between is not missed.
   * Absent: the files as first read by the watcher are taken as the running configuration.
   */
  baseline?: string;
  /** See WatchFilesOptions. */
  debounceMs?: number;
  pollIntervalMs?: number;
}

export interface ConfigReloader {
  /** The watched files. */
  readonly files: readonly string[];
  /** Resolves when the watch is set up. */
  readonly ready: Promise<void>;
  /** Check the files now (as after a change event). */
  check(): Promise<void>;
  close(): void;
}

/**
 * The files a configuration is loaded from: `--config`, `--values` and `--mesh` files, `--istio-cr`, and Istio's
 * own (`--injectConfigFile`, `--valuesFile`, `--meshConfigFile`, `--operatorFileName`), deduplicated.
 */
export function configFiles(load: LoadConfigOptions): string[] {
  const all = [
    ...(load.configFile !== undefined ? [load.configFile] : []),
    ...(load.valuesFiles ?? []),
    ...(load.meshFiles ?? []),
    ...(load.istioCustomResourceFile !== undefined ? [load.istioCustomResourceFile] : []),
    ...Object.values(load.istio ?? {}).flatMap((source) => (source && 'file' in source ? [source.file] : [])),
  ];
  return [...new Set(all)];
}

/** Hash of the configuration files now: take it before loading the configuration and pass it as `baseline`. */
export async function configBaseline(load: LoadConfigOptions): Promise<string> {
  return (await snapshotFiles(configFiles(load))).hash;
}

/**
 * Load, validate and compile the configuration again and apply it; on any error keep the current one. Returns
 * whether the new configuration was applied. Logs one line and counts the result either way.
 */
export function reloadConfig<T = Injector>(
  opts: Pick<ConfigReloaderOptions<T>, 'load' | 'apply' | 'compile' | 'logger' | 'metrics'>,
  hash?: string,
): boolean {
  const compile = opts.compile ?? ((config: InjectorConfig) => createInjector(config) as T);
  const files = configFiles(opts.load);
  let compiled: T;
  let notes: string[];
  try {
    const loaded = loadConfigWithNotes(opts.load);
    notes = loaded.notes;
    compiled = compile(loaded.config);
  } catch (err) {
    opts.metrics.configReloads.inc({ result: 'failure' });
    opts.logger.error(
      { files, reason: err instanceof Error ? err.message : String(err), ...(hash ? { hash: hash.slice(0, 12) } : {}) },
      'configuration reload failed; keeping the last good configuration',
    );
    return false;
  }
  opts.apply(compiled);
  opts.metrics.configReloads.inc({ result: 'success' });
  opts.logger.info({ files, ...(hash ? { hash: hash.slice(0, 12) } : {}) }, 'configuration reloaded');
  for (const note of notes) opts.logger.info({ files }, note);
  return true;
}

/**
 * Watch the configuration files of `load` and reload on change. Returns undefined when the configuration comes from
 * no file (profile and `--set` only): nothing can change.
 */
export function watchConfig<T = Injector>(opts: ConfigReloaderOptions<T>): ConfigReloader | undefined {
  const files = configFiles(opts.load);
  if (files.length === 0) return undefined;
  const watcher: FileWatcher = watchFiles({
    files,
    onChange: (snapshot: FileSnapshot) => {
      reloadConfig(opts, snapshot.hash);
    },
    logger: opts.logger,
    ...(opts.baseline !== undefined ? { baseline: opts.baseline } : {}),
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
  });
  return { files, ready: watcher.ready, check: () => watcher.check(), close: () => watcher.close() };
}
