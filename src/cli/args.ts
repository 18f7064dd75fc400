/**
 * The command line: which command, with what. Each command's flags are checked here (serve's in serveArgs.ts); what
 * they share is in parse.ts; the usage text in usage.ts.
 */
import type { ParseArgsConfig } from 'node:util';
import type { LoadConfigOptions } from '../config/load.js';
import { CONFIG_OPTIONS, configOptions, manifestFilenames, NAME, parse, UsageError, type CommandName } from './parse.js';
import { parseServe, type ServeArgs } from './serveArgs.js';

// The command line's entry points for main.ts and the tests.
export { UsageError, type CommandName } from './parse.js';
export type { ServeArgs } from './serveArgs.js';

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
  /** --restart-annotation: the pod template annotation rollouts set; absent: kubectl.kubernetes.io/restartedAt. */
  restartAnnotation?: string;
  /** --fail-on-outdated: exit 3 when a pod is outdated (for pipelines). */
  failOnOutdated: boolean;
  /** --diff: per workload, one pod's injection compared field by field with what mesh-webhook injects. */
  diff: boolean;
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
  'restart-annotation': { type: 'string' },
  'fail-on-outdated': { type: 'boolean' },
  diff: { type: 'boolean' },
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

/** An annotation key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
const ANNOTATION_KEY =
  /^(?:(?=[^/]{1,253}\/)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?(?=[^/]{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function isAnnotationKey(key: string): boolean {
  return ANNOTATION_KEY.test(key);
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
  const restartAnnotation = values['restart-annotation'];
  if (restartAnnotation !== undefined) {
    if (values.restart !== true) throw new UsageError('--restart-annotation goes with --restart', 'outdated');
    if (!isAnnotationKey(restartAnnotation)) {
      throw new UsageError(
        `--restart-annotation must be an annotation key, [prefix/]name: an optional DNS subdomain prefix, then at most 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit; got "${restartAnnotation}"`,
        'outdated',
      );
    }
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
      ...(restartAnnotation !== undefined ? { restartAnnotation } : {}),
      failOnOutdated: values['fail-on-outdated'] === true,
      diff: values.diff === true,
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
  const config = configOptions(values, 'inject');
  // --revision names the revision a serving canary answers for, by its webhooks' namespace and pod selectors; offline
  // injection has no webhook in front of it and would skip every pod.
  if (config.servedRevision !== undefined) {
    throw new UsageError(
      `--revision selects the pods a serving canary answers for (serve, explain, validate); inject has no webhook selectors. To render for an istiod revision, as istioctl kube-inject --revision does, give that revision's configuration (--valuesFile of istio-sidecar-injector-${config.servedRevision}, or --set values.revision=${config.servedRevision})`,
      'inject',
    );
  }
  // Istio's files are read as istioctl kube-inject reads them (src/config/istioInputs.ts).
  if (config.istio !== undefined) config.istioReadMode = 'kube-inject';
  return {
    command: 'inject',
    args: {
      filenames,
      ...(values.output !== undefined ? { output: values.output } : {}),
      config,
    },
  };
}



