import { DEFAULT_ADMISSION_LIMITS } from '../admission/limits.js';
import type { JsonObject } from '../k8s/types.js';
import { ISTIO_MESH_CONFIG, ISTIO_VALUES } from './istio-defaults.js';
import { kymaModuleMeshConfig, kymaModuleValues } from './kymaModule.js';
import { deepMerge } from './merge.js';
import type { ClusterSize, InjectorConfig, ProfileName } from './types.js';

/** Kyma's changes to Istio's values (see docs/configuration.md, "Profiles", and reference/kyma.md). */
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

/**
 * Environment variables pods may not set in the injected containers (safety.forbiddenInjectedEnv), by what they
 * change. Why each one: docs/security.md, "Injection safety".
 */
export const KYMA_FORBIDDEN_INJECTED_ENV: readonly string[] = [
  // What the dynamic loader and glibc load or read: glibc's UNSECURE_ENVVARS (the variables ld.so drops for setuid
  // programs), `LD_*` for all of the loader's own.
  'LD_*',
  'GCONV_PATH',
  'GETCONF_DIR',
  'GLIBC_TUNABLES',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'LOCPATH',
  'MALLOC_TRACE',
  'NIS_PATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'TMPDIR',
  'TZDIR',
  // Who the proxy says it is (pilot-agent: node ID, certificate request, metadata istiod authorises by).
  'POD_NAME',
  'POD_NAMESPACE',
  'SERVICE_ACCOUNT',
  'INSTANCE_IP',
  'TRUST_DOMAIN',
  'ISTIO_META_CLUSTER_ID',
  'ISTIO_META_MESH_ID',
  'ISTIO_META_CERT_SIGNER',
  // Where its certificate and configuration come from and whom it trusts for them.
  'CA_ADDR',
  'CA_PROVIDER',
  'PILOT_CERT_PROVIDER',
  'XDS_ROOT_CA',
  'CA_ROOT_CA',
  'ISTIOD_SAN',
  'XDS_AUTH_PROVIDER',
  'JWT_POLICY',
  'CREDENTIAL_FETCHER_TYPE',
  'CREDENTIAL_IDENTITY_PROVIDER',
  'PROV_CERT',
  'FILE_MOUNTED_CERTS',
  'OUTPUT_CERTS',
  'WORKLOAD_IDENTITY_SOCKET_FILE',
  'PROXY_CONFIG',
  // istio-iptables (root, NET_ADMIN): whose traffic skips the proxy, which network namespace it rewrites.
  'PROXY_UID',
  'PROXY_GID',
  'NETWORK_NAMESPACE',
  'CNI_MODE',
];

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
    limits: { ...DEFAULT_ADMISSION_LIMITS },
    safety: {
      allowedProxyImagePrefixes: [],
      forbiddenUserVolumeTypes: ['hostPath'],
      limitInjectedPrivileges: true,
      lockInjectedCommands: true,
      forbiddenInjectedEnv: [...KYMA_FORBIDDEN_INJECTED_ENV],
      stripOnlyInjectedContainers: true,
    },
  };
}

/**
 * The built-in configuration of a profile (a fresh object each call); `size` chooses between the Kyma Istio module's
 * two configurations (kyma-module only).
 */
export function profileConfig(profile: ProfileName, size: ClusterSize = 'production'): InjectorConfig {
  const cfg = base(profile);
  if (profile === 'kyma-module') {
    // Istio's injector as the module configures it (opt-in namespaces, CNI, its resources, native sidecars on Istio's
    // default `auto`), with mesh-webhook's Kyma exclusions and safety settings (docs/configuration.md, "Profiles").
    return { ...cfg, nativeSidecars: 'auto', values: kymaModuleValues(size), meshConfig: kymaModuleMeshConfig(), clusterSize: { setting: size } };
  }
  if (profile === 'istio') {
    return {
      ...cfg,
      excludedNamespaces: [],
      // Istio itself puts no limits on what annotations and declared containers ask for.
      safety: {
        allowedProxyImagePrefixes: ['*'],
        forbiddenUserVolumeTypes: [],
        limitInjectedPrivileges: false,
        lockInjectedCommands: false,
        forbiddenInjectedEnv: [],
        stripOnlyInjectedContainers: false,
      },
      values: deepMerge({}, cfg.values),
      meshConfig: deepMerge({}, cfg.meshConfig),
    };
  }
  return { ...cfg, values: deepMerge(cfg.values, KYMA_VALUES), meshConfig: deepMerge(cfg.meshConfig, KYMA_MESH_CONFIG) };
}

export const PROFILE_NAMES: readonly ProfileName[] = ['kyma', 'kyma-module', 'istio'];
