/**
 * What every command's parser shares: the usage error, node:util parseArgs with its errors as usage errors, the
 * configuration flags (--profile, --config, --values, --mesh, --set, --native-sidecars, --cluster-size, --istio-cr,
 * --revision, and Istio's files with istioctl's names: --injectConfigFile, --valuesFile, --meshConfigFile,
 * --operatorFileName) and the -f files.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { LoadConfigOptions } from '../config/load.js';
import { PROFILE_NAMES } from '../config/profiles.js';
import { CLUSTER_SIZE_SETTINGS, type ClusterSizeSetting, type ProfileName } from '../config/types.js';
import { ISTIO_INPUT_FLAGS, ISTIO_TEMPLATES_CHOICES, type IstioInputs, type IstioTemplatesChoice } from '../config/istioInputs.js';
import { labelValueProblem } from '../config/validate.js';

export type CommandName = 'inject' | 'serve' | 'validate' | 'explain' | 'outdated';

/** A command line that cannot be understood: print the message and the usage, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A Kubernetes object or namespace name (lower-case letters, digits, '-', '.'). */
export const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const CONFIG_OPTIONS = {
  profile: { type: 'string' },
  config: { type: 'string' },
  values: { type: 'string', multiple: true },
  mesh: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  'native-sidecars': { type: 'string' },
  'cluster-size': { type: 'string' },
  'istio-cr': { type: 'string' },
  // Istio's own configuration files, with istioctl kube-inject's flag names.
  injectConfigFile: { type: 'string' },
  valuesFile: { type: 'string' },
  meshConfigFile: { type: 'string' },
  operatorFileName: { type: 'string' },
  'injector-templates': { type: 'string' },
  revision: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, command: CommandName) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

export interface ConfigFlagValues {
  profile?: string;
  config?: string;
  values?: string[];
  mesh?: string[];
  set?: string[];
  'native-sidecars'?: string;
  'cluster-size'?: string;
  'istio-cr'?: string;
  injectConfigFile?: string;
  valuesFile?: string;
  meshConfigFile?: string;
  operatorFileName?: string;
  'injector-templates'?: string;
  revision?: string;
}

export function configOptions(flags: ConfigFlagValues, command: CommandName): LoadConfigOptions {
  const opts: LoadConfigOptions = {};
  if (flags.profile !== undefined) {
    if (!(PROFILE_NAMES as readonly string[]).includes(flags.profile)) {
      throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(', ')}; got "${flags.profile}"`, command);
    }
    opts.profile = flags.profile as ProfileName;
  }
  if (flags.config !== undefined) opts.configFile = flags.config;
  if (flags.values?.length) opts.valuesFiles = flags.values;
  if (flags.mesh?.length) opts.meshFiles = flags.mesh;
  if (flags.set?.length) opts.sets = flags.set;
  const native = flags['native-sidecars'];
  if (native !== undefined) {
    if (native !== 'true' && native !== 'false' && native !== 'auto') {
      throw new UsageError(`--native-sidecars must be true, false or auto; got "${native}"`, command);
    }
    opts.nativeSidecars = native === 'auto' ? 'auto' : native === 'true';
  }
  const size = flags['cluster-size'];
  if (size !== undefined) {
    if (!(CLUSTER_SIZE_SETTINGS as readonly string[]).includes(size)) {
      throw new UsageError(`--cluster-size must be one of ${CLUSTER_SIZE_SETTINGS.join(', ')}; got "${size}"`, command);
    }
    opts.clusterSize = size as ClusterSizeSetting;
  }
  if (flags['istio-cr'] !== undefined) opts.istioCustomResourceFile = flags['istio-cr'];
  const istio: IstioInputs = {};
  const given: Record<keyof IstioInputs, string | undefined> = {
    injector: flags.injectConfigFile,
    values: flags.valuesFile,
    mesh: flags.meshConfigFile,
    operator: flags.operatorFileName,
  };
  for (const key of Object.keys(given) as (keyof IstioInputs)[]) {
    const file = given[key];
    const flag = ISTIO_INPUT_FLAGS[key];
    if (file === undefined) continue;
    if (file === '') throw new UsageError(`${flag} needs a file name`, command);
    istio[key] = { file };
  }
  if (Object.keys(istio).length > 0) opts.istio = istio;
  const templates = flags['injector-templates'];
  if (templates !== undefined) {
    if (!(ISTIO_TEMPLATES_CHOICES as readonly string[]).includes(templates)) {
      throw new UsageError(`--injector-templates must be one of ${ISTIO_TEMPLATES_CHOICES.join(', ')}; got "${templates}"`, command);
    }
    opts.istioTemplates = templates as IstioTemplatesChoice;
  }
  if (flags.revision !== undefined) {
    const problem = labelValueProblem(flags.revision);
    if (problem !== undefined) throw new UsageError(`--revision must be ${problem}; got ${JSON.stringify(flags.revision)}`, command);
    opts.servedRevision = flags.revision;
  }
  return opts;
}

/** The -f values in order: at least one, none empty, stdin (`-`) at most once. */
export function manifestFilenames(values: string[] | undefined, command: CommandName): string[] {
  if (values === undefined || values.length === 0) throw new UsageError('missing -f FILE (use -f - to read from stdin)', command);
  if (values.includes('')) throw new UsageError('-f needs a file name (or - for stdin)', command);
  if (values.filter((v) => v === '-').length > 1) throw new UsageError('-f - (stdin) can be given once', command);
  return values;
}
