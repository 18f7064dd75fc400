import type { ServeClusterArgs } from '../server/clusterIntegration.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { LoadConfigOptions } from '../config/load.js';
import { PROFILE_NAMES } from '../config/profiles.js';
import type { ProfileName } from '../config/types.js';
import { CERTIFICATE_MODES, type CertificateMode } from '../certs/mode.js';
import { parseGoDuration } from '../server/params.js';

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

export type { ServeClusterArgs } from '../server/clusterIntegration.js';
export type CommandName = 'inject' | 'serve' | 'validate' | 'explain' | 'outdated';

export interface InjectArgs {
  /** -f: manifest files in the order given (`-` for stdin, at most once). */
  filenames: string[];
  /** Output file; stdout when absent. */
  output?: string;
  config: LoadConfigOptions;
}

export const VALIDATE_OUTPUTS = ['text', 'json'] as const;
export type ValidateOutput = (typeof VALIDATE_OUTPUTS)[number];

export type ValidateArgs =
  /** Validate the manifests of `filenames` in order (`-` for stdin). */
  | { list: false; filenames: string[]; output: ValidateOutput; config: LoadConfigOptions }
  /** Print the rules. */
  | { list: true; output: ValidateOutput };

export interface ServeArgs {
  /** Absent: serve()'s default (8443). */
  port?: number;
  /** --metrics-port: plain-HTTP /metrics listener; absent: 9090; 0: none. */
  metricsPort?: number;
  /** --metrics-host; absent: 127.0.0.1. */
  metricsHost?: string;
  /** Absent: serve()'s default (127.0.0.1; a pod asks for 0.0.0.0). */
  host?: string;
  /** --explain: serve POST /explain (off by default). */
  explain?: boolean;
  /** --max-connections N: connections held at most; absent: serve()'s default (1000). */
  maxConnections?: number;
  certFile?: string;
  keyFile?: string;
  /** --client-ca FILE: require the API server's client certificate on the admission routes. */
  clientCaFile?: string;
  logLevel?: LogLevel;
  /** Drain delay after SIGTERM in ms; absent: serve()'s default (5 s). */
  shutdownDelayMs?: number;
  /**
   * The overload guard (load shedding of /inject and /validate): `false` with --no-overload-guard; otherwise the
   * values given (--overload-target-delay, --overload-max-in-flight), absent ones the guard's defaults.
   */
  overload?: ServeOverloadArgs | false;
  config: LoadConfigOptions;
  /** Cluster access and certificate management (absent: defaults resolved at start, see src/server/clusterIntegration.ts). */
  cluster?: ServeClusterArgs;
}

export interface ServeOverloadArgs {
  /** --overload-target-delay in ms; absent: the guard's default (500 ms). */
  targetDelayMs?: number;
  /** --overload-max-in-flight; absent: the guard's default (1000). */
  maxInFlight?: number;
}


export const EXPLAIN_OUTPUTS = ['text', 'json'] as const;
export type ExplainOutput = (typeof EXPLAIN_OUTPUTS)[number];

export interface ExplainArgs {
  /** -f: manifest files in the order given (`-` for stdin, at most once). */
  filenames: string[];
  /** Namespace of objects without metadata.namespace (default: `default`). */
  namespace?: string;
  /** --namespace-labels: the labels of the objects' namespace (rule 4), over the configuration's namespaceLabels. */
  namespaceLabels?: Record<string, string>;
  output: ExplainOutput;
  config: LoadConfigOptions;
}

export interface OutdatedArgs {
  /** --kubeconfig; absent: in-cluster in a pod, else $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** -n; absent (and no -A): the kubeconfig context's namespace, else `default`. */
  namespace?: string;
  /** -A: every namespace. */
  allNamespaces: boolean;
  output: ExplainOutput;
  /** --restart: roll out the Deployments, DaemonSets and StatefulSets of outdated pods. */
  restart: boolean;
  /** --dry-run (default true): print what --restart would do without doing it; --dry-run=false acts. */
  dryRun: boolean;
  /** --max-restarts: workloads restarted per run (default 5). */
  maxRestarts: number;
  /** --fail-on-outdated: exit 3 when a pod is outdated (for pipelines). */
  failOnOutdated: boolean;
  config: LoadConfigOptions;
}

export const DEFAULT_MAX_RESTARTS = 5;

export type Invocation =
  | { command: 'explain'; args: ExplainArgs }
  | { command: 'outdated'; args: OutdatedArgs }
  | { command: 'inject'; args: InjectArgs }
  | { command: 'serve'; args: ServeArgs }
  | { command: 'validate'; args: ValidateArgs }
  | { command: 'help'; topic?: CommandName }
  | { command: 'version' };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const MAX_CONNECTIONS_MAX = 1_000_000;
/** Bounds of --overload-target-delay (ms): up to the API server's largest webhook timeout. */
export const OVERLOAD_TARGET_DELAY_MIN_MS = 10;
export const OVERLOAD_TARGET_DELAY_MAX_MS = 30_000;
export const OVERLOAD_MAX_IN_FLIGHT_MAX = 1_000_000;

const CONFIG_OPTIONS = {
  profile: { type: 'string' },
  config: { type: 'string' },
  values: { type: 'string', multiple: true },
  mesh: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  'native-sidecars': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const INJECT_OPTIONS = {
  ...CONFIG_OPTIONS,
  filename: { type: 'string', short: 'f', multiple: true },
  output: { type: 'string', short: 'o' },
} as const satisfies ParseArgsConfig['options'];

const VALIDATE_OPTIONS = {
  ...CONFIG_OPTIONS,
  filename: { type: 'string', short: 'f', multiple: true },
  output: { type: 'string', short: 'o' },
  list: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const EXPLAIN_OPTIONS = {
  ...CONFIG_OPTIONS,
  filename: { type: 'string', short: 'f', multiple: true },
  output: { type: 'string', short: 'o' },
  namespace: { type: 'string' },
  'namespace-labels': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const OUTDATED_OPTIONS = {
  ...CONFIG_OPTIONS,
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
  restart: { type: 'boolean' },
  'dry-run': { type: 'string' },
  'max-restarts': { type: 'string' },
  'fail-on-outdated': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const SERVE_OPTIONS = {
  ...CONFIG_OPTIONS,
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  host: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'client-ca': { type: 'string' },
  'log-level': { type: 'string' },
  'shutdown-delay': { type: 'string' },
  'overload-target-delay': { type: 'string' },
  'overload-max-in-flight': { type: 'string' },
  'no-overload-guard': { type: 'boolean' },
  certificates: { type: 'string' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  service: { type: 'string' },
  secret: { type: 'string' },
  'webhook-config': { type: 'string' },
  explain: { type: 'boolean' },
  'max-connections': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Turns `process.argv.slice(2)` into what to run. Throws {@link UsageError}. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  // No command is a mistake (a script that lost its arguments), not a request for help: usage on stderr, exit 2.
  if (first === undefined) throw new UsageError('no command given: name one of the commands below');
  if (first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command "${topic}"`);
    return topic === undefined ? { command: 'help' } : { command: 'help', topic };
  }
  if (first === '--version' || first === 'version') return { command: 'version' };
  if (first.startsWith('-')) throw new UsageError(`expected a command before ${first}`);
  if (!isCommand(first)) throw new UsageError(`unknown command "${first}"`);
  if (first === 'validate') return parseValidate(rest);
  if (first === 'explain') return parseExplain(rest);
  if (first === 'outdated') return parseOutdated(rest);
  return first === 'inject' ? parseInject(rest) : parseServe(rest);
}

function isCommand(s: string): s is CommandName {
  return s === 'inject' || s === 'serve' || s === 'validate' || s === 'explain' || s === 'outdated';
}

function outputOf(value: string | undefined, command: CommandName): ExplainOutput {
  const output = value ?? 'text';
  if (!(EXPLAIN_OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(`-o/--output must be one of ${EXPLAIN_OUTPUTS.join(', ')}; got "${output}"`, command);
  }
  return output as ExplainOutput;
}

/** `k=v,k2=v2` (empty: no labels); keys and values as Kubernetes allows them. */
export function parseLabelList(text: string, flag: string, command: CommandName): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const m = /^((?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)=([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.exec(item);
    if (!m) throw new UsageError(`${flag} must be a comma-separated list of key=value labels; got "${item}"`, command);
    labels[m[1]!] = m[4] ?? '';
  }
  return labels;
}

function parseExplain(argv: string[]): Invocation {
  const { values } = parse(argv, EXPLAIN_OPTIONS, 'explain');
  if (values.help) return { command: 'help', topic: 'explain' };
  const filenames = manifestFilenames(values.filename, 'explain');
  const namespace = values.namespace;
  if (namespace !== undefined && !NAME.test(namespace)) {
    throw new UsageError(`--namespace must be a Kubernetes namespace name; got "${namespace}"`, 'explain');
  }
  const labels = values['namespace-labels'];
  return {
    command: 'explain',
    args: {
      filenames,
      output: outputOf(values.output, 'explain'),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(labels !== undefined ? { namespaceLabels: parseLabelList(labels, '--namespace-labels', 'explain') } : {}),
      config: configOptions(values, 'explain'),
    },
  };
}

function parseOutdated(argv: string[]): Invocation {
  // `--dry-run` alone means true; `--dry-run=false` (or none, as kubectl spells it) acts.
  const { values } = parse(
    argv.map((a) => (a === '--dry-run' ? '--dry-run=true' : a)),
    OUTDATED_OPTIONS,
    'outdated',
  );
  if (values.help) return { command: 'help', topic: 'outdated' };
  const namespace = values.namespace;
  if (namespace !== undefined && !NAME.test(namespace)) {
    throw new UsageError(`-n/--namespace must be a Kubernetes namespace name; got "${namespace}"`, 'outdated');
  }
  const all = values['all-namespaces'] === true;
  if (all && namespace !== undefined) throw new UsageError('-n/--namespace and -A/--all-namespaces exclude each other', 'outdated');
  const dryRunText = values['dry-run'] ?? 'true';
  const dryRun = { true: true, client: true, false: false, none: false } as Record<string, boolean>;
  if (!Object.hasOwn(dryRun, dryRunText)) throw new UsageError(`--dry-run must be true or false; got "${dryRunText}"`, 'outdated');
  if (values['dry-run'] !== undefined && values.restart !== true) throw new UsageError('--dry-run goes with --restart', 'outdated');
  const maxText = values['max-restarts'];
  let maxRestarts = DEFAULT_MAX_RESTARTS;
  if (maxText !== undefined) {
    if (!/^\d+$/.test(maxText) || Number(maxText) < 1 || Number(maxText) > 1000) {
      throw new UsageError(`--max-restarts must be an integer 1..1000; got "${maxText}"`, 'outdated');
    }
    maxRestarts = Number(maxText);
  }
  if (values.kubeconfig === '') throw new UsageError('--kubeconfig needs a file name', 'outdated');
  return {
    command: 'outdated',
    args: {
      ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      allNamespaces: all,
      output: outputOf(values.output, 'outdated'),
      restart: values.restart === true,
      dryRun: dryRun[dryRunText]!,
      maxRestarts,
      failOnOutdated: values['fail-on-outdated'] === true,
      config: configOptions(values, 'outdated'),
    },
  };
}

function parseValidate(argv: string[]): Invocation {
  const { values } = parse(argv, VALIDATE_OPTIONS, 'validate');
  if (values.help) return { command: 'help', topic: 'validate' };
  const output = values.output ?? 'text';
  if (!(VALIDATE_OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(`-o/--output must be one of ${VALIDATE_OUTPUTS.join(', ')}; got "${output}"`, 'validate');
  }
  if (values.list) {
    if (values.filename !== undefined) throw new UsageError('--list prints the rules; it takes no -f', 'validate');
    return { command: 'validate', args: { list: true, output: output as ValidateOutput } };
  }
  return {
    command: 'validate',
    args: { list: false, filenames: manifestFilenames(values.filename, 'validate'), output: output as ValidateOutput, config: configOptions(values, 'validate') },
  };
}

function parseInject(argv: string[]): Invocation {
  const { values } = parse(argv, INJECT_OPTIONS, 'inject');
  if (values.help) return { command: 'help', topic: 'inject' };
  const filenames = manifestFilenames(values.filename, 'inject');
  return {
    command: 'inject',
    args: {
      filenames,
      ...(values.output !== undefined ? { output: values.output } : {}),
      config: configOptions(values, 'inject'),
    },
  };
}

/** The -f values in order: at least one, none empty, stdin (`-`) at most once. */
function manifestFilenames(values: string[] | undefined, command: CommandName): string[] {
  if (values === undefined || values.length === 0) throw new UsageError('missing -f FILE (use -f - to read from stdin)', command);
  if (values.includes('')) throw new UsageError('-f needs a file name (or - for stdin)', command);
  if (values.filter((v) => v === '-').length > 1) throw new UsageError('-f - (stdin) can be given once', command);
  return values;
}

function parseServe(argv: string[]): Invocation {
  const { values } = parse(argv, SERVE_OPTIONS, 'serve');
  if (values.help) return { command: 'help', topic: 'serve' };
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError('--cert and --key go together: give both or neither', 'serve');
  }
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got "${logLevel}"`, 'serve');
  }
  const cluster = clusterOptions(values);
  const overload = overloadOptions(values);
  const maxConnectionsText = values['max-connections'];
  if (maxConnectionsText !== undefined && (!/^\d+$/.test(maxConnectionsText) || Number(maxConnectionsText) < 1 || Number(maxConnectionsText) > MAX_CONNECTIONS_MAX)) {
    throw new UsageError(`--max-connections must be an integer 1..${MAX_CONNECTIONS_MAX}; got "${maxConnectionsText}"`, 'serve');
  }
  return {
    command: 'serve',
    args: {
      ...(cluster ? { cluster } : {}),
      ...(overload !== undefined ? { overload } : {}),
      ...(values.port !== undefined ? { port: parsePort(values.port) } : {}),
      ...(values['metrics-port'] !== undefined ? { metricsPort: parsePort(values['metrics-port'], '--metrics-port', '0 = no metrics listener') } : {}),
      ...(values['metrics-host'] !== undefined ? { metricsHost: values['metrics-host'] } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values.explain === true ? { explain: true } : {}),
      ...(maxConnectionsText !== undefined ? { maxConnections: Number(maxConnectionsText) } : {}),
      ...(values.cert !== undefined ? { certFile: values.cert } : {}),
      ...(values.key !== undefined ? { keyFile: values.key } : {}),
      ...(values['client-ca'] !== undefined ? { clientCaFile: nonEmpty(values['client-ca'], '--client-ca') } : {}),
      ...(logLevel !== undefined ? { logLevel: logLevel as LogLevel } : {}),
      ...(values['shutdown-delay'] !== undefined ? { shutdownDelayMs: parseShutdownDelay(values['shutdown-delay']) } : {}),
      config: configOptions(values, 'serve'),
    },
  };
}

/** --no-overload-guard, or the guard's settings given; undefined when no overload flag is given. */
function overloadOptions(values: { 'overload-target-delay'?: string; 'overload-max-in-flight'?: string; 'no-overload-guard'?: boolean }): ServeOverloadArgs | false | undefined {
  const delayText = values['overload-target-delay'];
  const maxText = values['overload-max-in-flight'];
  if (values['no-overload-guard'] === true) {
    const tuned = delayText !== undefined ? '--overload-target-delay' : maxText !== undefined ? '--overload-max-in-flight' : undefined;
    if (tuned !== undefined) throw new UsageError(`--no-overload-guard turns the guard off; it takes no ${tuned}`, 'serve');
    return false;
  }
  const out: ServeOverloadArgs = {};
  if (delayText !== undefined) {
    // A unit is required: a bare number would be seconds elsewhere (--shutdown-delay), milliseconds to the guard.
    const ms = /^\d+(?:\.\d+)?$/.test(delayText) ? undefined : parseGoDuration(delayText);
    if (ms === undefined || ms < OVERLOAD_TARGET_DELAY_MIN_MS || ms > OVERLOAD_TARGET_DELAY_MAX_MS) {
      throw new UsageError(
        `--overload-target-delay must be a duration with a unit from ${OVERLOAD_TARGET_DELAY_MIN_MS}ms to ${OVERLOAD_TARGET_DELAY_MAX_MS / 1000}s, such as 500ms or 1s; got "${delayText}"`,
        'serve',
      );
    }
    out.targetDelayMs = Math.round(ms);
  }
  if (maxText !== undefined) {
    if (!/^\d+$/.test(maxText) || Number(maxText) < 1 || Number(maxText) > OVERLOAD_MAX_IN_FLIGHT_MAX) {
      throw new UsageError(`--overload-max-in-flight must be an integer 1..${OVERLOAD_MAX_IN_FLIGHT_MAX}; got "${maxText}"`, 'serve');
    }
    out.maxInFlight = Number(maxText);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function nonEmpty(value: string, flag: string): string {
  if (value === '') throw new UsageError(`${flag} needs a file name`, 'serve');
  return value;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function clusterOptions(values: {
  cert?: string;
  certificates?: string;
  kubeconfig?: string;
  namespace?: string;
  service?: string;
  secret?: string;
  'webhook-config'?: string;
}): ServeClusterArgs | undefined {
  const out: ServeClusterArgs = {};
  const mode = values.certificates;
  if (mode !== undefined) {
    if (!(CERTIFICATE_MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--certificates must be one of ${CERTIFICATE_MODES.join(', ')}; got "${mode}"`, 'serve');
    }
    if (mode === 'files' && values.cert === undefined) throw new UsageError('--certificates files needs --cert FILE and --key FILE', 'serve');
    if (mode !== 'files' && values.cert !== undefined) {
      throw new UsageError(`--cert/--key serve certificate files: use them with --certificates files, not ${mode}`, 'serve');
    }
    out.certificates = mode as CertificateMode;
  }
  if (values.kubeconfig !== undefined) {
    if (values.kubeconfig === '') throw new UsageError('--kubeconfig needs a file name', 'serve');
    out.kubeconfig = values.kubeconfig;
  }
  const names = [
    ['namespace', 'namespace'],
    ['service', 'service'],
    ['secret', 'secretName'],
    ['webhook-config', 'webhookConfig'],
  ] as const;
  for (const [flag, key] of names) {
    const v = values[flag];
    if (v === undefined) continue;
    if (!NAME.test(v)) throw new UsageError(`--${flag} must be a Kubernetes object name (lower-case letters, digits, '-', '.'); got "${v}"`, 'serve');
    out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, command: CommandName) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

interface ConfigFlagValues {
  profile?: string;
  config?: string;
  values?: string[];
  mesh?: string[];
  set?: string[];
  'native-sidecars'?: string;
}

function configOptions(flags: ConfigFlagValues, command: CommandName): LoadConfigOptions {
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
  return opts;
}

/** A Go duration (`5s`, `1500ms`, `0`) or a plain number of seconds, not negative, at most 10 minutes. */
function parseShutdownDelay(text: string): number {
  const ms = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) * 1000 : parseGoDuration(text);
  if (ms === undefined || ms < 0 || ms > 600_000) {
    throw new UsageError(`--shutdown-delay must be a duration such as 5s, 500ms or 0 (at most 10m); got "${text}"`, 'serve');
  }
  return Math.round(ms);
}

function parsePort(text: string, flag = '--port', zero = '0 = any free port'): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(`${flag} must be an integer 0..65535 (${zero}); got "${text}"`, 'serve');
  }
  return port;
}
