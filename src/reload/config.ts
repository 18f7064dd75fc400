/**
 * Configuration hot reload: when a configuration file changes (`--config`, typically a mounted ConfigMap, and the
 * `--values`/`--mesh` files), the whole configuration is loaded again with the same options as at start (profile,
 * files, `--set`, `--native-sidecars`), validated and compiled, and only then swapped in with one assignment
 * (`apply`, i.e. RunningServer.setInjector). A request reads the injector once when it starts, so requests already
 * running finish with the one they started with and none sees half a configuration.
 *
 * Configuration that does not come from files ({@link ConfigInputs}: serve's Istio ConfigMaps and Kyma Istio resource,
 * watched in the cluster, src/cluster/istioObjects.ts) is reloaded the same way on its changes. Every reload, whichever
 * side triggered it, loads the files as they are now with the inputs as they are now, so the two compose.
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

/**
 * Configuration inputs that are not files: their part of the load options now, and their changes. `merge()` throws
 * (a message naming what is missing) when they cannot give it, e.g. a deleted ConfigMap: the reload then fails.
 */
export interface ConfigInputs {
  /** What they are, for the log (`ConfigMap istio-system/istio`). */
  readonly sources: readonly string[];
  /** `load` with their part as it is now (LoadConfigOptions' `istio` keys and `istioCustomResource`). */
  merge(load: LoadConfigOptions): LoadConfigOptions;
  /**
   * Call `onChange` after each change of what merge() gives (`trigger` says what changed, for the log), until the
   * returned function is called.
   */
  watch(onChange: (trigger: string) => void): () => void;
}

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
  /** Inputs other than files, merged over `load` at every reload and watched like the files. */
  inputs?: ConfigInputs;
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
  opts: Pick<ConfigReloaderOptions<T>, 'load' | 'inputs' | 'apply' | 'compile' | 'logger' | 'metrics'>,
  /** What started it: the files' new hash, or what changed in the inputs. */
  trigger?: { hash?: string; change?: string },
): boolean {
  const compile = opts.compile ?? ((config: InjectorConfig) => createInjector(config) as T);
  const where = {
    files: configFiles(opts.load),
    ...(opts.inputs ? { sources: opts.inputs.sources } : {}),
    ...(trigger?.hash ? { hash: trigger.hash.slice(0, 12) } : {}),
    ...(trigger?.change ? { change: trigger.change } : {}),
  };
  let compiled: T;
  let notes: string[];
  try {
    // Inside the try: inputs that cannot give their part (a deleted ConfigMap) fail this reload like a bad file.
    const loaded = loadConfigWithNotes(opts.inputs ? opts.inputs.merge(opts.load) : opts.load);
    notes = loaded.notes;
    compiled = compile(loaded.config);
  } catch (err) {
    opts.metrics.configReloads.inc({ result: 'failure' });
    opts.logger.error({ ...where, reason: err instanceof Error ? err.message : String(err) }, 'configuration reload failed; keeping the last good configuration');
    return false;
  }
  opts.apply(compiled);
  opts.metrics.configReloads.inc({ result: 'success' });
  opts.logger.info(where, 'configuration reloaded');
  const { files, sources } = where as { files: string[]; sources?: readonly string[] };
  for (const note of notes) opts.logger.info({ files, ...(sources ? { sources } : {}) }, note);
  return true;
}

/**
 * Watch the configuration files of `load` and the `inputs`, and reload on a change of either. Returns undefined when
 * the configuration comes from no file and no input (profile and `--set` only): nothing can change.
 */
export function watchConfig<T = Injector>(opts: ConfigReloaderOptions<T>): ConfigReloader | undefined {
  const files = configFiles(opts.load);
  // Reloads are synchronous (load, validate, compile, apply): one from the files and one from the inputs never overlap.
  const unwatch = opts.inputs?.watch((change) => {
    reloadConfig(opts, { change });
  });
  if (files.length === 0) {
    if (!unwatch) return undefined;
    return { files, ready: Promise.resolve(), check: () => Promise.resolve(), close: unwatch };
  }
  const watcher: FileWatcher = watchFiles({
    files,
    onChange: (snapshot: FileSnapshot) => {
      reloadConfig(opts, { hash: snapshot.hash });
    },
    logger: opts.logger,
    ...(opts.baseline !== undefined ? { baseline: opts.baseline } : {}),
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
  });
  return {
    files,
    ready: watcher.ready,
    check: () => watcher.check(),
    close: () => {
      unwatch?.();
      watcher.close();
    },
  };
}
