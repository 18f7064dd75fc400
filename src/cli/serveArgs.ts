/**
 * `mesh-webhook serve`'s command line: listener, certificates, logging, drain, overload guard and cluster flags,
 * each checked with a message naming the flag and what it takes.
 */
import { CERTIFICATE_MODES, type CertificateMode } from '../certs/mode.js';
import type { NamedObjectRef } from '../cluster/client.js';
import type { IstioObjectRefs } from '../cluster/istioObjects.js';
import { ISTIO_INPUT_FLAGS, type IstioInputs } from '../config/istioInputs.js';
import type { LoadConfigOptions } from '../config/load.js';
import type { ServeClusterArgs } from '../server/clusterIntegration.js';
import { parseGoDuration } from '../server/params.js';
import type { ParseArgsConfig } from 'node:util';
import { CONFIG_OPTIONS, configOptions, NAME, parse, UsageError } from './parse.js';

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
  /**
   * The Istio configuration read from the cluster and watched (--injector-configmap, --mesh-configmap,
   * --istio-cr-resource; src/cluster/istioObjects.ts), on top of `config`.
   */
  configObjects?: IstioObjectRefs;
  /** Cluster access and certificate management (absent: defaults resolved at start, see src/server/clusterIntegration.ts). */
  cluster?: ServeClusterArgs;
}

/** The flags that read the configuration from the cluster, their object's kind and default namespace. */
export const CONFIG_OBJECT_FLAGS = [
  { flag: 'injector-configmap', key: 'injector', kind: 'ConfigMap', namespace: 'istio-system' },
  { flag: 'mesh-configmap', key: 'mesh', kind: 'ConfigMap', namespace: 'istio-system' },
  { flag: 'istio-cr-resource', key: 'istioResource', kind: 'Istio', namespace: 'kyma-system' },
] as const;

export interface ServeOverloadArgs {
  /** --overload-target-delay in ms; absent: the guard's default (500 ms). */
  targetDelayMs?: number;
  /** --overload-max-in-flight; absent: the guard's default (1000). */
  maxInFlight?: number;
}


export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const MAX_CONNECTIONS_MAX = 1_000_000;
/** Bounds of --overload-target-delay (ms): up to the API server's largest webhook timeout. */
export const OVERLOAD_TARGET_DELAY_MIN_MS = 10;
export const OVERLOAD_TARGET_DELAY_MAX_MS = 30_000;
export const OVERLOAD_MAX_IN_FLIGHT_MAX = 1_000_000;

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
  'injector-configmap': { type: 'string' },
  'mesh-configmap': { type: 'string' },
  'istio-cr-resource': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** The `serve` invocation of the command line (help when asked for). */
export function parseServe(argv: string[]): { command: 'serve'; args: ServeArgs } | { command: 'help'; topic: 'serve' } {
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
  const config = configOptions(values, 'serve');
  const configObjects = configObjectOptions(values, config);
  const overload = overloadOptions(values);
  const maxConnectionsText = values['max-connections'];
  if (maxConnectionsText !== undefined && (!/^\d+$/.test(maxConnectionsText) || Number(maxConnectionsText) < 1 || Number(maxConnectionsText) > MAX_CONNECTIONS_MAX)) {
    throw new UsageError(`--max-connections must be an integer 1..${MAX_CONNECTIONS_MAX}; got "${maxConnectionsText}"`, 'serve');
  }
  return {
    command: 'serve',
    args: {
      ...(cluster ? { cluster } : {}),
      ...(configObjects ? { configObjects } : {}),
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
      config,
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

/** A namespace name (a DNS label). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `[NAMESPACE/]NAME` of a flag that names an object, its namespace defaulted. */
function objectRef(text: string, flag: string, kind: NamedObjectRef['kind'], defaultNamespace: string): NamedObjectRef {
  const parts = text.split('/');
  const [namespace, name] = parts.length === 2 ? parts : [defaultNamespace, parts[0]];
  if (parts.length > 2 || namespace === undefined || !NAMESPACE.test(namespace) || name === undefined || !NAME.test(name)) {
    throw new UsageError(
      `--${flag} must be [NAMESPACE/]NAME (namespace ${defaultNamespace} when left out; lower-case letters, digits, '-', '.'); got "${text}"`,
      'serve',
    );
  }
  return { kind, namespace, name };
}

/** --injector-configmap, --mesh-configmap, --istio-cr-resource: checked, and not with the flags that read the same. */
function configObjectOptions(values: Partial<Record<(typeof CONFIG_OBJECT_FLAGS)[number]['flag'], string>>, config: LoadConfigOptions): IstioObjectRefs | undefined {
  const out: IstioObjectRefs = {};
  for (const { flag, key, kind, namespace } of CONFIG_OBJECT_FLAGS) {
    const text = values[flag];
    if (text !== undefined) out[key] = objectRef(text, flag, kind, namespace);
  }
  // Istio's files (istioctl's flags) that give what a ConfigMap gives; an IstioOperator gives values and meshConfig.
  const files: [keyof IstioObjectRefs, readonly (keyof IstioInputs)[]][] = [
    ['injector', ['injector', 'values', 'operator']],
    ['mesh', ['mesh', 'operator']],
  ];
  for (const [key, inputs] of files) {
    const given = inputs.find((input) => config.istio?.[input] !== undefined);
    if (out[key] === undefined || given === undefined) continue;
    const flag = CONFIG_OBJECT_FLAGS.find((f) => f.key === key)!.flag;
    throw new UsageError(
      `--${flag} and ${ISTIO_INPUT_FLAGS[given]} both give ${given === 'operator' ? (key === 'injector' ? "the injector's values" : 'the mesh configuration') : `Istio's ${given} configuration`}: use one (the ConfigMap in the cluster is watched)`,
      'serve',
    );
  }
  if (out.istioResource) {
    if (config.istioCustomResourceFile !== undefined) {
      throw new UsageError('--istio-cr-resource and --istio-cr both give the Kyma Istio custom resource: use one (the resource in the cluster is watched)', 'serve');
    }
    // Without --profile the config file's profile decides (the loader checks it), else the default kyma.
    const profile = config.profile ?? (config.configFile === undefined ? 'kyma (the default)' : 'kyma-module');
    if (profile !== 'kyma-module') {
      throw new UsageError(`--istio-cr-resource applies only to --profile kyma-module (the Kyma Istio module's resource); the profile is ${profile}`, 'serve');
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
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
