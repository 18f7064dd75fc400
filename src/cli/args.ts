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

export type CommandName = 'inject' | 'serve' | 'validate';

export interface InjectArgs {
  /** Manifest file, or `-` for stdin. */
  filename: string;
  /** Output file; stdout when absent. */
  output?: string;
  config: LoadConfigOptions;
}

export const VALIDATE_OUTPUTS = ['text', 'json'] as const;
export type ValidateOutput = (typeof VALIDATE_OUTPUTS)[number];

export type ValidateArgs =
  /** Validate the manifests of `filename` (`-` for stdin). */
  | { list: false; filename: string; output: ValidateOutput; config: LoadConfigOptions }
  /** Print the rules. */
  | { list: true; output: ValidateOutput };

export interface ServeArgs {
  /** Absent: serve()'s default (8443). */
  port?: number;
  /** Absent: serve()'s default (0.0.0.0). */
  host?: string;
  certFile?: string;
  keyFile?: string;
  logLevel?: LogLevel;
  /** Drain delay after SIGTERM in ms; absent: serve()'s default (5 s). */
  shutdownDelayMs?: number;
  config: LoadConfigOptions;
  /** Cluster access and certificate management (absent: defaults resolved at start, see src/cluster/integration.ts). */
  cluster?: ServeClusterArgs;
}

export interface ServeClusterArgs {
  /** --kubeconfig FILE; absent: in-cluster when in a pod, else no cluster. */
  kubeconfig?: string;
  /** --certificates; absent: files with --cert/--key, self-managed with a cluster, dev otherwise. */
  certificates?: CertificateMode;
  /** --namespace; absent: the service account's namespace, else mesh-webhook. */
  namespace?: string;
  /** --service (default mesh-webhook). */
  service?: string;
  /** --secret (default mesh-webhook-tls). */
  secretName?: string;
  /** --webhook-config: name of both webhook configurations (default mesh-webhook). */
  webhookConfig?: string;
}

export type Invocation =
  | { command: 'inject'; args: InjectArgs }
  | { command: 'serve'; args: ServeArgs }
  | { command: 'validate'; args: ValidateArgs }
  | { command: 'help'; topic?: CommandName }
  | { command: 'version' };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** serve()'s defaults, repeated for the help text (importing src/server here would load the server stack). */
export const HELP_DEFAULT_PORT = 8443;
export const HELP_DEFAULT_HOST = '0.0.0.0';
export const HELP_DEFAULT_SHUTDOWN_DELAY = '5s';

const CONFIG_FLAGS = `Configuration (applied in this order, later wins):
      --profile kyma|istio      built-in defaults (default: kyma, or the config file's profile)
      --config FILE             YAML file with injector settings (policy, selectors, values, meshConfig, ...)
      --values FILE             Helm values merged into values (repeatable)
      --mesh FILE               MeshConfig merged into meshConfig (repeatable)
      --set PATH=VALUE          override one setting, VALUE is JSON or a plain string (repeatable),
                                e.g. --set values.global.proxy.image=proxyv2 --set policy=disabled
      --native-sidecars true|false|auto
                                inject istio-proxy as a native sidecar (init container) or a classic container`;

export const USAGE: Record<'main' | CommandName, string> = {
  main: `Usage: mesh-webhook <command> [flags]

Kubernetes admission webhook that injects Istio sidecars and validates workloads for the mesh.

Commands:
  inject    inject sidecars into manifests offline (like istioctl kube-inject)
  validate  check manifests for mesh mistakes offline (the rules of the /validate endpoint)
  serve     run the admission webhook server

Flags:
  -h, --help      show help (also: mesh-webhook <command> --help)
      --version   print the version

Run 'mesh-webhook <command> --help' for the flags of a command.`,
  inject: `Usage: mesh-webhook inject -f FILE|- [flags]

Injects the Istio sidecar into Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers,
Jobs, CronJobs, DeploymentConfigs and v1 Lists; other documents are printed unchanged. Warnings go to stderr.

Flags:
  -f, --filename FILE           manifest file to inject, '-' for stdin (required)
  -o, --output FILE             write the result to FILE instead of stdout
  -h, --help                    show this help

${CONFIG_FLAGS}`,
  serve: `Usage: mesh-webhook serve [flags]

Runs the admission webhook over HTTPS (POST /inject, POST /validate, GET /healthz, GET /readyz, GET /metrics).

Flags:
      --port N                  listen port, 0 for any free port (default ${HELP_DEFAULT_PORT})
      --host H                  listen address (default ${HELP_DEFAULT_HOST})
      --cert FILE               serving certificate (PEM), together with --key; without both,
                                development certificates are created in .dev-certs
      --key FILE                private key (PEM) of --cert
      --certificates MODE       self-managed (CA and certificate in a Secret, caBundle patched), files
                                (--cert/--key) or dev (default: files with --cert/--key, else
                                self-managed with a cluster, else dev)
      --kubeconfig FILE         cluster to use (default: the service account when in a pod, else none;
                                $KUBECONFIG is not read)
      --namespace NS            namespace of the Secret and Service (default: the pod's, else mesh-webhook)
      --service NAME            Service name, for the certificate's DNS names (default mesh-webhook)
      --secret NAME             Secret of the self-managed certificate (default mesh-webhook-tls)
      --webhook-config NAME     Mutating/ValidatingWebhookConfiguration whose caBundle is managed
                                (default mesh-webhook)
      --log-level LEVEL         ${LOG_LEVELS.join('|')}
      --shutdown-delay DURATION after SIGTERM, keep serving (not ready) this long before closing the listener,
                                e.g. 5s, 500ms, 0 (default ${HELP_DEFAULT_SHUTDOWN_DELAY})
  -h, --help                    show this help

The --config, --values and --mesh files and the --cert/--key files are watched and reloaded when they change.

${CONFIG_FLAGS}`,
  validate: `Usage: mesh-webhook validate -f FILE|- [flags]
       mesh-webhook validate --list [-o text|json]

Checks Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs, Services,
Namespaces, PeerAuthentications and the items of v1 Lists with the rules of the validating webhook (/validate).
Each object is checked in its own metadata.namespace; no cluster is contacted (labels of Namespace objects in the
input are used for the objects in those namespaces). Exit code 1 when any error is found, 0 otherwise (warnings
and info do not fail); 2 for a bad command line.

Flags:
  -f, --filename FILE           manifest file to check, '-' for stdin (required unless --list)
  -o, --output text|json        text: one line per finding and a summary (default); json: an array of
                                {code, severity, object, path, message}
      --list                    print the rules (code, severity, title, fix) and exit
  -h, --help                    show this help

Findings can be suppressed per object with the annotation mesh-webhook.kyma-project.io/suppress (or
galley.istio.io/analyze-suppress): a comma-separated list of codes, or '*'.

${CONFIG_FLAGS}`,
};

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
  filename: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o' },
} as const satisfies ParseArgsConfig['options'];

const VALIDATE_OPTIONS = {
  ...CONFIG_OPTIONS,
  filename: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o' },
  list: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const SERVE_OPTIONS = {
  ...CONFIG_OPTIONS,
  port: { type: 'string' },
  host: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'log-level': { type: 'string' },
  'shutdown-delay': { type: 'string' },
  certificates: { type: 'string' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  service: { type: 'string' },
  secret: { type: 'string' },
  'webhook-config': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Turns `process.argv.slice(2)` into what to run. Throws {@link UsageError}. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command "${topic}"`);
    return topic === undefined ? { command: 'help' } : { command: 'help', topic };
  }
  if (first === '--version' || first === 'version') return { command: 'version' };
  if (first.startsWith('-')) throw new UsageError(`expected a command before ${first}`);
  if (!isCommand(first)) throw new UsageError(`unknown command "${first}"`);
  if (first === 'validate') return parseValidate(rest);
  return first === 'inject' ? parseInject(rest) : parseServe(rest);
}

function isCommand(s: string): s is CommandName {
  return s === 'inject' || s === 'serve' || s === 'validate';
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
  if (values.filename === undefined || values.filename === '') {
    throw new UsageError('missing -f FILE (use -f - to read from stdin)', 'validate');
  }
  return {
    command: 'validate',
    args: { list: false, filename: values.filename, output: output as ValidateOutput, config: configOptions(values, 'validate') },
  };
}

function parseInject(argv: string[]): Invocation {
  const { values } = parse(argv, INJECT_OPTIONS, 'inject');
  if (values.help) return { command: 'help', topic: 'inject' };
  if (values.filename === undefined || values.filename === '') {
    throw new UsageError('missing -f FILE (use -f - to read from stdin)', 'inject');
  }
  return {
    command: 'inject',
    args: {
      filename: values.filename,
      ...(values.output !== undefined ? { output: values.output } : {}),
      config: configOptions(values, 'inject'),
    },
  };
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
  return {
    command: 'serve',
    args: {
      ...(cluster ? { cluster } : {}),
      ...(values.port !== undefined ? { port: parsePort(values.port) } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values.cert !== undefined ? { certFile: values.cert } : {}),
      ...(values.key !== undefined ? { keyFile: values.key } : {}),
      ...(logLevel !== undefined ? { logLevel: logLevel as LogLevel } : {}),
      ...(values['shutdown-delay'] !== undefined ? { shutdownDelayMs: parseShutdownDelay(values['shutdown-delay']) } : {}),
      config: configOptions(values, 'serve'),
    },
  };
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

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(`--port must be an integer 0..65535 (0 = any free port); got "${text}"`, 'serve');
  }
  return port;
}
