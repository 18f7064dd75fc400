import type { JsonObject, LabelSelector } from '../k8s/types.js';

/**
 * Built-in starting points: `kyma` (the default: the Kyma service-mesh documents), `kyma-module` (what the Kyma Istio
 * module installs today) and `istio` (Istio chart defaults).
 */
export type ProfileName = 'kyma' | 'kyma-module' | 'istio';

/**
 * The Kyma Istio module's two configurations, chosen by the cluster's total node capacity (src/config/kymaModule.ts):
 * `evaluation` (istio-operator-light.yaml) and `production` (istio-operator.yaml).
 */
export type ClusterSize = 'evaluation' | 'production';
/** How the configuration file and `--cluster-size` choose: a fixed size, or `auto` from the cluster's nodes. */
export type ClusterSizeSetting = ClusterSize | 'auto';
export const CLUSTER_SIZE_SETTINGS: readonly ClusterSizeSetting[] = ['auto', 'evaluation', 'production'];

/**
 * kyma-module's size as loaded: `values` holds the size's values; with `auto` they are the production size's, and the
 * evaluation size's values come along, for the injector to choose per pod from the cluster's capacity.
 */
export type ClusterSizeChoice =
  | { readonly setting: ClusterSize }
  | { readonly setting: 'auto'; readonly evaluationValues: JsonObject };

export type InjectionPolicy = 'enabled' | 'disabled';

/**
 * The injector configuration as an operator writes it (config file, ConfigMap, CLI flags).
 * It mirrors what Istio users already have (`policy`, selectors, `injectedAnnotations`, `values`, `meshConfig`)
 * plus mesh-webhook's own keys (`excludedNamespaces`, `nativeSidecars`, `namespaceLabels`).
 */
export interface InjectorConfig {
  profile: ProfileName;
  policy: InjectionPolicy;
  neverInjectSelector: LabelSelector[];
  alwaysInjectSelector: LabelSelector[];
  /** Annotations added to every injected pod. */
  injectedAnnotations: Record<string, string>;
  /** Namespaces never injected, in addition to Istio's ignored namespaces. */
  excludedNamespaces: string[];
  /**
   * Inject istio-proxy as a Kubernetes native sidecar (init container with restartPolicy Always). `auto`: when the
   * pod's node, or else every node, runs Kubernetes 1.33 or newer (needs cluster access; classic when unknown).
   */
  nativeSidecars: boolean | 'auto';
  /** Namespace labels known without a cluster (namespace name → labels). */
  namespaceLabels: Record<string, Record<string, string>>;
  /** Helm values the Istio sidecar template reads (`.Values`). */
  values: JsonObject;
  /** Effective MeshConfig (proto-JSON field names). */
  meshConfig: JsonObject;
  /** The validating webhook (`/validate`) and `mesh-webhook validate`. */
  validation: ValidationSettings;
  /** What pod annotations may ask of the injector. */
  safety: SafetySettings;
  /** Caps on what makes one admission expensive, checked before any work (src/admission/limits.ts). */
  limits: AdmissionLimits;
  /**
   * kyma-module only (written as `auto`, `evaluation` or `production`; default `auto`). Its other input, the Kyma Istio
   * custom resource (the file key `istioCustomResource`, `--istio-cr`), is merged into `values` and `meshConfig` at
   * load (src/config/kymaIstio.ts).
   */
  clusterSize?: ClusterSizeChoice;
  /**
   * The Istio revision whose webhook selectors this injector answers for (`--revision`; a Kubernetes label value):
   * only pods Istio's webhooks for that revision would send (namespace `istio.io/rev=<name>` without
   * `istio-injection`, or pod label `istio.io/rev=<name>` in a namespace with neither; for `default` also Istio's
   * `namespace.` and `object.` webhooks), never injection on by default, and only with the namespace's labels known
   * (src/inject/decision.ts). Selection only: the sidecar is still rendered for `values.revision`, the control plane
   * the proxies talk to (`CA_ADDR`, `istio.io/rev`, the status annotation's revision). Absent: `values.revision`
   * (empty: `default`) is served, as Istio's chart registers it.
   */
  servedRevision?: string;
}

/**
 * Caps on one admission's object, checked on the parsed object before any decision, injection, validation or
 * explanation (src/admission/limits.ts has the defaults and why).
 */
export interface AdmissionLimits {
  /** Labels of one metadata (the object's, its pod template's). */
  readonly labels: number;
  /** Annotations of one metadata. */
  readonly annotations: number;
  /** Bytes of one metadata's annotations, keys and values (Kubernetes refuses more than 256 KiB). */
  readonly annotationBytes: number;
  /** Containers of one pod spec: containers, initContainers and ephemeralContainers together. */
  readonly containers: number;
  /** Environment entries (env and envFrom) of one pod spec, over all its containers. */
  readonly env: number;
  /** Container ports of one pod spec, over all its containers. */
  readonly ports: number;
  /** Volumes of one pod spec. */
  readonly volumes: number;
  /** Volume mounts of one pod spec, over all its containers. */
  readonly volumeMounts: number;
  /**
   * Structural JSON tokens of a request body (about one per value), counted before it is parsed; twice this for
   * /validate, whose UPDATE reviews carry two objects.
   */
  readonly jsonTokens: number;
}

/**
 * Limits on what a pod's annotations can make the injector do: annotations are data written by workload owners, the
 * operator decides which images and volumes they may bring in.
 */
export interface SafetySettings {
  /**
   * Image prefixes `sidecar.istio.io/proxyImage` may use (`registry/path`, matched on a `/` boundary), and, when the
   * list is not `*`, the final image of every injected container (after `proxy.istio.io/overrides`, declared
   * containers and `image: auto`; MW0605). The images the operator's configuration names are always allowed. Empty:
   * only the configured hub (`values.global.hub`); `*`: any image (the istio profile, as Istio).
   */
  allowedProxyImagePrefixes: string[];
  /** Volume sources `sidecar.istio.io/userVolume` may not use (default: hostPath). */
  forbiddenUserVolumeTypes: string[];
  /**
   * The injected containers (istio-init, istio-validation, istio-proxy, enable-core-dump) get no privilege beyond
   * what the operator's configuration gives them: a pod's annotations, declared containers or
   * `proxy.istio.io/overrides` cannot make them root, privileged, add capabilities or host ports, allow privilege
   * escalation, make the root file system writable or lift seccomp/AppArmor/SELinux confinement (MW0603).
   */
  limitInjectedPrivileges: boolean;
  /**
   * What the injected init containers (and istio-proxy when it runs with privileges) execute stays the template's:
   * no command, args, exec hook or exec probe from the pod, no volume mounted over the programs or the loader's
   * files (MW0604).
   */
  lockInjectedCommands: boolean;
  /**
   * Environment variables a pod may not set or change in the injected containers (`proxyMetadata` of
   * `proxy.istio.io/config`, declared containers, `proxy.istio.io/overrides`, `apm.datadoghq.com/env`); `envFrom`
   * on an injected container is refused while the list is not empty. An entry ending in `*` is a prefix (MW0606).
   */
  forbiddenInjectedEnv: string[];
  /**
   * Re-injection removes only containers with the injector's own names (istio-init, istio-validation, istio-proxy,
   * enable-core-dump) among those `sidecar.istio.io/status` lists, so a status written by the pod cannot remove its
   * own or another webhook's containers (MW0607).
   */
  stripOnlyInjectedContainers: boolean;
}

/** What the validating webhook does with findings: deny errors, only warn, or only record. */
export type ValidationMode = 'enforce' | 'warn' | 'audit';
export const VALIDATION_MODES: readonly ValidationMode[] = ['enforce', 'warn', 'audit'];

export interface ValidationSettings {
  /** Global mode; a namespace label `mesh-webhook.kyma-project.io/validation-mode` overrides it. */
  mode: ValidationMode;
}

/** A configuration problem, with the path of the offending key and what to do. */
export class ConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `config ${path}: ${message}` : `config: ${message}`);
    this.name = 'ConfigError';
  }
}
