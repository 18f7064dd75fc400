import type { JsonObject } from '../k8s/types.js';
import { ISTIO_MESH_CONFIG, ISTIO_VALUES } from './istio-defaults.js';
import { deepMerge } from './merge.js';
import type { InjectorConfig, ProfileName } from './types.js';

/** Kyma's changes to Istio's values (see README "Profiles" and reference/kyma.md). */
const KYMA_VALUES: JsonObject = {
  global: {
    hub: 'europe-docker.pkg.dev/kyma-project/prod/external/istio',
    tag: '1.30.2-distroless',
    proxy: {
      holdApplicationUntilProxyStarts: true,
      // Pod Security "restricted" needs a seccomp profile on every container (the Kyma istio module sets this too).
      seccompProfile: { type: 'RuntimeDefault' },
      resources: {
        requests: { cpu: '20m', memory: '32Mi' },
        limits: { cpu: '200m', memory: '128Mi' },
      },
    },
    proxy_init: {
      resources: {
        requests: { cpu: '10m', memory: '10Mi' },
        limits: { cpu: '100m', memory: '50Mi' },
      },
    },
  },
  sidecarInjectorWebhook: { rewriteAppHTTPProbe: true, enableNamespacesByDefault: true },
};

const KYMA_MESH_CONFIG: JsonObject = {
  enablePrometheusMerge: false,
  defaultConfig: {
    holdApplicationUntilProxyStarts: true,
    tracing: { zipkin: { address: 'zipkin.kyma-system:9411' } },
  },
};

function base(profile: ProfileName): InjectorConfig {
  return {
    profile,
    policy: 'enabled',
    neverInjectSelector: [],
    alwaysInjectSelector: [],
    injectedAnnotations: {},
    excludedNamespaces: ['istio-system', 'kube-system'],
    nativeSidecars: true,
    namespaceLabels: {},
    values: ISTIO_VALUES,
    meshConfig: ISTIO_MESH_CONFIG,
    validation: { mode: 'warn' },
    safety: { allowedProxyImagePrefixes: [], forbiddenUserVolumeTypes: ['hostPath'] },
  };
}

/** The built-in configuration of a profile (a fresh object each call). */
export function profileConfig(profile: ProfileName): InjectorConfig {
  const cfg = base(profile);
  if (profile === 'istio') {
    return {
      ...cfg,
      excludedNamespaces: [],
      // Istio itself puts no limits on these annotations.
      safety: { allowedProxyImagePrefixes: ['*'], forbiddenUserVolumeTypes: [] },
      values: deepMerge({}, cfg.values),
      meshConfig: deepMerge({}, cfg.meshConfig),
    };
  }
  return { ...cfg, values: deepMerge(cfg.values, KYMA_VALUES), meshConfig: deepMerge(cfg.meshConfig, KYMA_MESH_CONFIG) };
}

export const PROFILE_NAMES: readonly ProfileName[] = ['kyma', 'istio'];
