import type { JsonObject, LabelSelector } from '../k8s/types.js';

/** Built-in starting points: `kyma` (the default) and `istio` (Istio chart defaults). */
export type ProfileName = 'kyma' | 'istio';

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
}

/**
 * Limits on what a pod's annotations can make the injector do: annotations are data written by workload owners, the
 * operator decides which images and volumes they may bring in.
 */
export interface SafetySettings {
  /**
   * Image prefixes `sidecar.istio.io/proxyImage` may use (`registry/path`, matched on a `/` boundary). Empty: only
   * the configured hub (`values.global.hub`); `*`: any image (the istio profile, as Istio).
   */
  allowedProxyImagePrefixes: string[];
  /** Volume sources `sidecar.istio.io/userVolume` may not use (default: hostPath). */
  forbiddenUserVolumeTypes: string[];
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
