/**
 * Istio's `sidecar` injection template, field by field, as a function of (pod, settings): the init container
 * (`istio-init`, or `istio-validation` in CNI mode), the `istio-proxy` container, volumes, pull secrets, labels and
 * annotations. The result is a partial pod that is strategically merged into the application pod.
 */
import type { Container, EnvVar, JsonObject, Pod, Probe, Volume } from '../k8s/types.js';
import { A, L } from './annotations.js';
import { CORE_DUMP_CONTAINER, INIT_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER } from './containers.js';
import type { DeployMeta } from './deployMeta.js';
import { CONTAINER_PORT, encodeStruct } from './gojson.js';
import { otelResourceAttributes } from './otel.js';
import { parseUserVolumes, type UserVolumeEntry } from './userVolumes.js';
import { canonicalResources } from './quantity.js';
import type { Settings } from './settings.js';

export interface TemplateInput {
  settings: Settings;
  /** The pod after removing an earlier injection. */
  pod: Pod;
  deployMeta: DeployMeta;
  proxyConfig: JsonObject;
  proxyConfigJson: string;
  native: boolean;
  hold: boolean;
  proxyImage: string;
  proxyInitImage: string;
}

export interface TemplatePod {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: { initContainers: Container[]; containers: Container[]; volumes: Volume[]; imagePullSecrets: { name: string }[] };
}

const fieldRef = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
const resourceRef = (name: string, resource: string): EnvVar => ({ name, valueFrom: { resourceFieldRef: { resource, divisor: '1' } } });

/** Istio's `excludeInboundPort`: adds the status port to the excluded inbound ports unless it is 0 or already there. */
export function excludeInboundPort(statusPort: string, excluded: string): string {
  const port = statusPort.trim();
  if (port.length === 0 || port === '0') return excluded;
  const out: string[] = [];
  for (const p of excluded.split(',')) {
    if (p === port) return excluded;
    if (p.trim().length > 0) out.push(p.trim());
  }
  out.push(port);
  return out.join(',');
}

/** Istio's appendMultusNetwork for `k8s.v1.cni.cncf.io/networks` (flat list or JSON list). */
export function appendMultusNetwork(existing: string | undefined): string {
  const network = 'istio-cni';
  if (!existing) return `default/${network}`;
  const close = existing.lastIndexOf(']');
  if (close !== -1) {
    try {
      const parsed: unknown = JSON.parse(existing);
      if (Array.isArray(parsed) && parsed.some((n) => (n as { name?: unknown })?.name === network)) return existing;
    } catch {
      return existing;
    }
    return `${existing.slice(0, close)}, {"name": "${network}", "namespace": "default"}${existing.slice(close)}`;
  }
  if (existing.split(',').some((n) => [network, `default/${network}`].includes(n.trim()))) return existing;
  return `${existing}, default/${network}`;
}

const truncateCanonicalName = (name: string): string => name.slice(0, 63).replace(/^[-_.]+|[-_.]+$/g, '');

/** Non-zero integer from a template string (Go's int32 omitempty drops zero). */
function probeInt(text: string): number | undefined {
  const n = Number(text);
  return Number.isFinite(n) && n !== 0 ? n : undefined;
}

/** A copy of `o` without its undefined-valued keys (a fresh object: `delete` would leave `o` a slow dictionary-mode object). */
function withoutUndefined<T extends object>(o: T): T {
  const out = {} as T;
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** A fresh copy of a `resources` block the settings already hold in canonical form. */
function copyResources(r: Record<string, Record<string, string>> | undefined): Record<string, Record<string, string>> | undefined {
  if (r === undefined) return undefined;
  const out: Record<string, Record<string, string>> = {};
  for (const kind in r) out[kind] = { ...r[kind] };
  return out;
}

export function podPortsJson(pod: Pod): string {
  const ports: string[] = [];
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) ports.push(encodeStruct(p, CONTAINER_PORT));
  return ports.length === 0 ? '[\n]' : `[\n    ${ports.join('\n    ,')}\n]`;
}

/**
 * The proxy's `CA_ADDR`: `values.global.caAddress`, else the Service of the control plane's revision
 * (`istiod[-<values.revision>].<istioNamespace>.svc:15012`). Never the served revision (`servedRevision`), which
 * only selects pods.
 */
export function caAddress(s: Pick<Settings, 'caAddress' | 'revision' | 'istioNamespace'>): string {
  return s.caAddress || `istiod${s.revision ? `-${s.revision}` : ''}.${s.istioNamespace}.svc:15012`;
}

/**
 * Istio's `sidecar` template for one pod, in its parts: the metadata, the resources, istio-init (or istio-validation),
 * istio-proxy (an init container when native), the core-dump container, the volumes.
 */
export function renderSidecarTemplate(t: TemplateInput): TemplatePod {
  const x = templateContext(t);
  const resources = sidecarResources(x);
  const init = initContainer(x, resources.init);
  const proxy = proxyContainer(x, resources.proxy);
  const coreDump = coreDumpContainer(x, resources.init);
  return {
    metadata: templateMetadata(x),
    spec: {
      initContainers: [...(init ? [init] : []), ...(t.native ? [proxy] : []), ...(coreDump ? [coreDump] : [])],
      containers: t.native ? [] : [proxy],
      volumes: templateVolumes(x),
      imagePullSecrets: x.s.imagePullSecrets.map((name) => ({ name })),
    },
  };
}

/** What every part of the template reads: the input, the pod's annotations and the values they override. */
interface TemplateContext {
  t: TemplateInput;
  s: Settings;
  ann: Record<string, string>;
  labels: Record<string, string>;
  /** The pod's annotation, else the configured value (Istio's `annotation .ObjectMeta name default`). */
  annotation(name: string, fallback: string): string;
  isset(name: string): boolean;
  pcInterception: string;
  interceptionMode: string;
  tproxy: boolean;
  statusPort: string;
  includeIPRanges: string;
  excludeIPRanges: string;
  includeInboundPorts: string;
  excludeInbound: string;
  withIncludeOutboundPorts: boolean;
  withExcludeOutboundPorts: boolean;
  agentLogLevel: string;
  capNetBind: boolean;
  /** The application containers (not istio-proxy). */
  containers: string[];
  imagePullPolicy: string | undefined;
}

function templateContext(t: TemplateInput): TemplateContext {
  const s = t.settings;
  const meta = t.pod.metadata ?? {};
  const ann = meta.annotations ?? {};
  const labels = meta.labels ?? {};
  const annotation = (name: string, fallback: string): string => (Object.hasOwn(ann, name) ? String(ann[name]) : fallback);
  const isset = (name: string): boolean => Object.hasOwn(ann, name);

  const pcInterception = typeof t.proxyConfig.interceptionMode === 'string' ? t.proxyConfig.interceptionMode : 'REDIRECT';
  const interceptionMode = annotation(A.interceptionMode, pcInterception);
  const tproxy = interceptionMode === 'TPROXY';
  const statusPort = annotation(A.statusPort, s.statusPortValue);
  const includeIPRanges = annotation(A.includeOutboundIPRanges, s.includeIPRanges);
  const excludeIPRanges = annotation(A.excludeOutboundIPRanges, s.excludeIPRanges);
  const includeInboundPorts = annotation(A.includeInboundPorts, s.includeInboundPorts);
  const excludeInbound = excludeInboundPort(statusPort, annotation(A.excludeInboundPorts, s.excludeInboundPorts));
  const withIncludeOutboundPorts = isset(A.includeOutboundPorts) || s.includeOutboundPorts !== '';
  const withExcludeOutboundPorts = isset(A.excludeOutboundPorts) || s.excludeOutboundPorts !== '';
  const agentLogLevel = annotation(A.agentLogLevel, s.agentLogLevel);
  const capNetBind = annotation(A.capNetBindService, s.capNetBindService) === 'true';
  const containers = (t.pod.spec?.containers ?? []).filter((c) => c.name !== PROXY_CONTAINER).map((c) => c.name);

  const imagePullPolicy = s.imagePullPolicy || undefined;
  return { t, s, ann, labels, annotation, isset, pcInterception, interceptionMode, tproxy, statusPort, includeIPRanges, excludeIPRanges, includeInboundPorts, excludeInbound, withIncludeOutboundPorts, withExcludeOutboundPorts, agentLogLevel, capNetBind, containers, imagePullPolicy };
}

/** The labels and annotations the template adds to the pod. */
function templateMetadata(x: TemplateContext): TemplatePod['metadata'] {
  const { t, s, ann, labels, annotation, isset, interceptionMode, includeIPRanges, excludeIPRanges, includeInboundPorts, excludeInbound, withIncludeOutboundPorts, withExcludeOutboundPorts, containers } = x;
  const tplLabels: Record<string, string> = {
    [L.tlsMode]: labels[L.tlsMode] || 'istio',
    [L.canonicalName]: truncateCanonicalName(
      labels[L.canonicalName] || labels['app.kubernetes.io/name'] || labels.app || t.deployMeta.name,
    ),
    [L.canonicalRevision]: labels[L.canonicalRevision] || labels['app.kubernetes.io/version'] || labels.version || 'latest',
  };
  if (t.proxyConfig.proxyMetadata && (t.proxyConfig.proxyMetadata as Record<string, string>).ISTIO_META_ENABLE_HBONE === 'true') {
    tplLabels[L.tunnel] = 'http';
  }
  const tplAnnotations: Record<string, string> = { [A.rev]: s.revision || 'default' };
  if (containers.length > 0) {
    if (!isset(A.defaultLogsContainer)) tplAnnotations[A.defaultLogsContainer] = containers[0]!;
    if (!isset(A.defaultContainer)) tplAnnotations[A.defaultContainer] = containers[0]!;
  }
  if (s.cniEnabled) {
    if (s.cniProvider === 'multus') tplAnnotations[A.cniNetworks] = appendMultusNetwork(ann[A.cniNetworks]);
    tplAnnotations[A.interceptionMode] = interceptionMode;
    if (includeIPRanges) tplAnnotations[A.includeOutboundIPRanges] = includeIPRanges;
    if (excludeIPRanges) tplAnnotations[A.excludeOutboundIPRanges] = excludeIPRanges;
    if (includeInboundPorts) tplAnnotations[A.includeInboundPorts] = includeInboundPorts;
    tplAnnotations[A.excludeInboundPorts] = excludeInbound;
    if (withIncludeOutboundPorts) tplAnnotations[A.includeOutboundPorts] = annotation(A.includeOutboundPorts, s.includeOutboundPorts);
    if (withExcludeOutboundPorts) tplAnnotations[A.excludeOutboundPorts] = annotation(A.excludeOutboundPorts, s.excludeOutboundPorts);
    const kubevirt = ann[A.rerouteVirtualInterfaces] || ann[A.kubevirtInterfaces];
    if (ann[A.kubevirtInterfaces]) tplAnnotations[A.kubevirtInterfaces] = ann[A.kubevirtInterfaces]!;
    if (ann[A.rerouteVirtualInterfaces]) tplAnnotations[A.rerouteVirtualInterfaces] = kubevirt!;
    if (ann[A.excludeInterfaces]) tplAnnotations[A.excludeInterfaces] = ann[A.excludeInterfaces]!;
  }

  return { labels: tplLabels, annotations: tplAnnotations };
}

/** The resources of istio-proxy and istio-init: the proxy resource annotations replace the configured ones entirely. */
function sidecarResources(x: TemplateContext): { proxy: Resources; init: Resources } {
  const { s, ann, isset } = x;
  const resourceAnnotations = [A.proxyCPU, A.proxyMemory, A.proxyCPULimit, A.proxyMemoryLimit];
  let proxyResources: Record<string, Record<string, string>> | undefined;
  let initResources: Record<string, Record<string, string>> | undefined;
  if (resourceAnnotations.some(isset)) {
    const requests = withoutUndefined({ cpu: ann[A.proxyCPU], memory: ann[A.proxyMemory] });
    const limits = withoutUndefined({ cpu: ann[A.proxyCPULimit], memory: ann[A.proxyMemoryLimit] });
    proxyResources = canonicalResources({ requests, limits });
    initResources = canonicalResources({ requests, limits });
  } else {
    // Fresh copies (the injected pod shares no objects with the settings or between containers) of the quantities the
    // settings canonicalised once, at load.
    proxyResources = copyResources(s.proxyResources);
    initResources = copyResources(s.proxyInitResources ?? s.proxyResources);
  }

  return { proxy: proxyResources, init: initResources };
}

/** istio-init (istio-iptables), or istio-validation with CNI; none with interception mode NONE. */
function initContainer(x: TemplateContext, initResources: Resources): Container | undefined {
  const { t, s, ann, annotation, isset, interceptionMode, includeIPRanges, excludeIPRanges, includeInboundPorts, excludeInbound, withIncludeOutboundPorts, withExcludeOutboundPorts, agentLogLevel, imagePullPolicy } = x;
  if (interceptionMode === 'NONE') return undefined;
  const args = [
    'istio-iptables',
    '-p',
    String(s.mesh.proxyListenPort),
    '-z',
    String(s.mesh.proxyInboundListenPort),
    '-u',
    '1337',
    '-m',
    interceptionMode,
    '-i',
    includeIPRanges,
    '-x',
    excludeIPRanges,
    '-b',
    includeInboundPorts,
    '-d',
    excludeInbound ? `15090,15021,${excludeInbound}` : '15090,15021',
  ];
  if (withIncludeOutboundPorts) args.push('-q', annotation(A.includeOutboundPorts, s.includeOutboundPorts));
  if (withExcludeOutboundPorts) args.push('-o', annotation(A.excludeOutboundPorts, s.excludeOutboundPorts));
  const kubevirt = ann[A.rerouteVirtualInterfaces] ?? ann[A.kubevirtInterfaces];
  if (isset(A.rerouteVirtualInterfaces) || isset(A.kubevirtInterfaces)) args.push('-k', kubevirt ?? '');
  if (isset(A.excludeInterfaces)) args.push('-c', ann[A.excludeInterfaces]!);
  args.push(`--log_output_level=${agentLogLevel}`);
  if (s.logAsJson) args.push('--log_as_json');
  if (s.cniEnabled) args.push('--run-validation', '--skip-rule-apply');
  else {
    if (s.forceApplyIptables) args.push('--force-apply');
    if (s.nativeNftables) args.push('--native-nftables');
  }
  const env = Object.entries((t.proxyConfig.proxyMetadata as Record<string, string> | undefined) ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value: String(value) }));
  const securityContext: Record<string, unknown> = s.cniEnabled
    ? {
        allowPrivilegeEscalation: s.privileged,
        capabilities: { drop: ['ALL'] },
        privileged: s.privileged,
        readOnlyRootFilesystem: true,
        runAsGroup: 1337,
        runAsNonRoot: true,
        runAsUser: 1337,
      }
    : {
        allowPrivilegeEscalation: s.privileged,
        capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
        privileged: s.privileged,
        readOnlyRootFilesystem: false,
        runAsGroup: 0,
        runAsNonRoot: false,
        runAsUser: 0,
      };
  if (s.seccompProfile) securityContext.seccompProfile = { ...s.seccompProfile };
  return withoutUndefined({
    name: s.cniEnabled ? VALIDATION_CONTAINER : INIT_CONTAINER,
    image: t.proxyInitImage,
    args,
    imagePullPolicy,
    env: env.length > 0 ? env : undefined,
    resources: initResources,
    securityContext,
  });
}

/** istio-proxy: the agent's arguments, lifecycle, environment, probes, security context and mounts. */
function proxyContainer(x: TemplateContext, proxyResources: Resources): Container {
  const { t, s, annotation, statusPort, agentLogLevel, imagePullPolicy } = x;
  const proxyArgs = [
    'proxy',
    'sidecar',
    '--domain',
    `$(POD_NAMESPACE).svc.${s.clusterDomain}`,
    `--proxyLogLevel=${annotation(A.logLevel, s.proxyLogLevel)}`,
    `--proxyComponentLogLevel=${annotation(A.componentLogLevel, s.proxyComponentLogLevel)}`,
    `--log_output_level=${agentLogLevel}`,
  ];
  if (s.stsPort) proxyArgs.push(`--stsPort=${s.stsPort}`);
  if (s.logAsJson) proxyArgs.push('--log_as_json');
  if (s.outlierLogPath) proxyArgs.push(`--outlierLogPath=${s.outlierLogPath}`);

  let lifecycle: JsonObject | undefined;
  if (s.lifecycle) lifecycle = structuredClone(s.lifecycle);
  else if (t.native) {
    lifecycle = { preStop: { exec: { command: ['pilot-agent', 'request', `--debug-port=${statusPort}`, 'POST', 'drain'] } } };
  } else if (t.hold) lifecycle = { postStart: { exec: { command: ['pilot-agent', 'wait'] } } };

  const env = proxyEnv(x);
  const { readinessProbe, startupProbe } = proxyProbes(x);
  const proxySecurity = proxySecurityContext(x);
  const volumeMounts = proxyVolumeMounts(x);
  return withoutUndefined({
    name: PROXY_CONTAINER,
    image: t.proxyImage,
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    args: proxyArgs,
    lifecycle,
    // Kubernetes drops an empty env value (omitempty): so do we.
    env: env.map((e) => (e.value === '' ? { name: e.name } : e)),
    imagePullPolicy,
    readinessProbe,
    startupProbe,
    resources: proxyResources,
    restartPolicy: t.native ? 'Always' : undefined,
    securityContext: proxySecurity,
    volumeMounts,
  });
}

/** istio-proxy's environment, in the order of Istio's template. */
function proxyEnv(x: TemplateContext): EnvVar[] {
  const { t, s, ann, labels, isset, pcInterception, containers } = x;
  const trustDomain = s.mesh.trustDomain || s.valuesTrustDomain;
  const env: EnvVar[] = [];
  if (s.mesh.inboundPolicyLocalhost) env.push({ name: 'REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION', value: 'true' });
  env.push(
    { name: 'PILOT_CERT_PROVIDER', value: s.pilotCertProvider },
    { name: 'CA_ADDR', value: caAddress(s) },
    fieldRef('POD_NAME', 'metadata.name'),
    fieldRef('POD_NAMESPACE', 'metadata.namespace'),
    fieldRef('INSTANCE_IP', 'status.podIP'),
    fieldRef('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldRef('HOST_IP', 'status.hostIP'),
    resourceRef('ISTIO_CPU_LIMIT', 'limits.cpu'),
    { name: 'PROXY_CONFIG', value: `${t.proxyConfigJson}\n` },
    { name: 'ISTIO_META_POD_PORTS', value: podPortsJson(t.pod) },
    { name: 'ISTIO_META_APP_CONTAINERS', value: containers.join(',') },
    resourceRef('GOMEMLIMIT', 'limits.memory'),
    { name: 'ISTIO_META_CLUSTER_ID', value: s.clusterName || 'Kubernetes' },
    fieldRef('ISTIO_META_NODE_NAME', 'spec.nodeName'),
    { name: 'ISTIO_META_INTERCEPTION_MODE', value: ann[A.interceptionMode] || pcInterception },
  );
  if (s.network) env.push({ name: 'ISTIO_META_NETWORK', value: s.network });
  const workloadName = labels[L.workloadName] || t.deployMeta.name;
  if (workloadName) env.push({ name: 'ISTIO_META_WORKLOAD_NAME', value: workloadName });
  if (t.deployMeta.apiVersion && t.deployMeta.name) {
    env.push({
      name: 'ISTIO_META_OWNER',
      value: `kubernetes://apis/${t.deployMeta.apiVersion}/namespaces/${t.deployMeta.namespace || 'default'}/${t.deployMeta.kind.toLowerCase()}s/${t.deployMeta.name}`,
    });
  }
  if (isset(A.bootstrapOverride)) env.push({ name: 'ISTIO_BOOTSTRAP_OVERRIDE', value: '/etc/istio/custom-bootstrap/custom_bootstrap.json' });
  const meshId = s.meshID || trustDomain;
  if (meshId) env.push({ name: 'ISTIO_META_MESH_ID', value: meshId });
  if (trustDomain) env.push({ name: 'TRUST_DOMAIN', value: trustDomain });
  if (s.tracer === 'datadog' && isset(A.datadogEnv)) {
    try {
      const dd = JSON.parse(ann[A.datadogEnv]!) as Record<string, unknown>;
      for (const key of Object.keys(dd).sort()) env.push({ name: key, value: String(dd[key]) });
    } catch {
      /* Istio's fromJSON yields nothing for invalid JSON */
    }
  }
  if (s.mesh.otelSemanticConventions) {
    const attrs = otelResourceAttributes(ann, labels, t.deployMeta.namespace, t.pod.spec?.containers ?? []);
    if (attrs) env.push({ name: 'OTEL_RESOURCE_ATTRIBUTES', value: attrs });
  }
  for (const [name, value] of Object.entries((t.proxyConfig.proxyMetadata as Record<string, string> | undefined) ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    env.push({ name, value: String(value) });
  }

  return env;
}

/** istio-proxy's readiness and startup probes (none with status port 0). */
function proxyProbes(x: TemplateContext): { readinessProbe: Probe | undefined; startupProbe: Probe | undefined } {
  const { s, annotation, statusPort } = x;
  let readinessProbe: Probe | undefined;
  let startupProbe: Probe | undefined;
  if (statusPort !== '0') {
    readinessProbe = withoutUndefined({
      httpGet: { path: '/healthz/ready', port: 15021 },
      initialDelaySeconds: probeInt(annotation(A.readinessInitialDelay, s.readinessInitialDelaySeconds)),
      periodSeconds: probeInt(annotation(A.readinessPeriod, s.readinessPeriodSeconds)),
      timeoutSeconds: 3,
      failureThreshold: probeInt(annotation(A.readinessFailureThreshold, s.readinessFailureThreshold)),
    });
    if (s.startupProbe.enabled) {
      startupProbe = withoutUndefined({
        httpGet: { path: '/healthz/ready', port: 15021 },
        periodSeconds: 1,
        timeoutSeconds: 3,
        failureThreshold: probeInt(String(s.startupProbe.failureThreshold)),
      });
    }
  }

  return { readinessProbe, startupProbe };
}

/** istio-proxy's security context: UID 1337 unless TPROXY or NET_BIND_SERVICE needs root, or trace logging asks for privileges. */
function proxySecurityContext(x: TemplateContext): Record<string, unknown> {
  const { t, s, tproxy, capNetBind } = x;
  // Istio's template: ProxyMetadata IPTABLES_TRACE_LOGGING=true gives the privileged variant (root, NET_ADMIN), whatever
  // the interception mode.
  const traceLogging = (t.proxyConfig.proxyMetadata as Record<string, string> | undefined)?.IPTABLES_TRACE_LOGGING === 'true';
  const add = [...(tproxy ? ['NET_ADMIN'] : []), ...(capNetBind ? ['NET_BIND_SERVICE'] : [])];
  const rootProxy = tproxy || capNetBind;
  const proxySecurity: Record<string, unknown> = traceLogging
    ? {
        allowPrivilegeEscalation: true,
        capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
        privileged: true,
        readOnlyRootFilesystem: true,
        runAsGroup: 1337,
        runAsNonRoot: false,
        runAsUser: 0,
      }
    : {
        allowPrivilegeEscalation: s.privileged,
        capabilities: add.length > 0 ? { add, drop: ['ALL'] } : { drop: ['ALL'] },
        privileged: s.privileged,
        readOnlyRootFilesystem: true,
        runAsGroup: 1337,
        runAsNonRoot: !rootProxy,
        runAsUser: rootProxy ? 0 : 1337,
      };
  if (s.seccompProfile) proxySecurity.seccompProfile = { ...s.seccompProfile };

  return proxySecurity;
}

/** istio-proxy's volume mounts, and the user volume mounts the pod asks for. */
function proxyVolumeMounts(x: TemplateContext): NonNullable<Container['volumeMounts']> {
  const { s, ann, isset } = x;
  const volumeMounts: NonNullable<Container['volumeMounts']> = [
    { mountPath: '/var/run/secrets/workload-spiffe-uds', name: 'workload-socket' },
    { mountPath: '/var/run/secrets/credential-uds', name: 'credential-socket' },
    { mountPath: '/var/run/secrets/workload-spiffe-credentials', name: 'workload-certs' },
  ];
  if (s.pilotCertProvider === 'istiod') {
    volumeMounts.push(
      { mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert' },
      { mountPath: '/var/run/secrets/istio/crl', name: 'istio-ca-crl' },
    );
  }
  volumeMounts.push({ mountPath: '/var/lib/istio/data', name: 'istio-data' });
  if (isset(A.bootstrapOverride)) volumeMounts.push({ mountPath: '/etc/istio/custom-bootstrap', name: 'custom-bootstrap-volume' });
  volumeMounts.push({ mountPath: '/etc/istio/proxy', name: 'istio-envoy' }, { mountPath: '/var/run/secrets/tokens', name: 'istio-token' });
  if (s.mountMtlsCerts) volumeMounts.push({ mountPath: '/etc/certs/', name: 'istio-certs', readOnly: true });
  volumeMounts.push({ mountPath: '/etc/istio/pod', name: 'istio-podinfo' });
  for (const { value } of userEntries(ann[A.userVolumeMount])) volumeMounts.push(value as { name: string; mountPath: string });

  return volumeMounts;
}

/** The core-dump init container, when sidecar.istio.io/enableCoreDump (or the configuration) asks for it. */
function coreDumpContainer(x: TemplateContext, initResources: Resources): Container | undefined {
  const { t, s, annotation, imagePullPolicy } = x;
  if (annotation(A.enableCoreDump, s.enableCoreDump) !== 'true') return undefined;
  return withoutUndefined({
    name: CORE_DUMP_CONTAINER,
    args: ['-c', 'sysctl -w kernel.core_pattern=/var/lib/istio/data/core.proxy && ulimit -c unlimited'],
    command: ['/bin/sh'],
    image: t.proxyInitImage,
    imagePullPolicy,
    resources: initResources,
    securityContext: {
      allowPrivilegeEscalation: true,
      capabilities: { add: ['SYS_ADMIN'], drop: ['ALL'] },
      privileged: true,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  });
}

/** The volumes the injected containers mount, and the user volumes the pod asks for. */
function templateVolumes(x: TemplateContext): Volume[] {
  const { t, s, ann, isset } = x;
  const volumes: Volume[] = [
    { name: 'workload-socket' },
    { name: 'credential-socket' },
    { name: 'workload-certs' },
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
    { name: 'istio-data', emptyDir: {} },
    {
      name: 'istio-podinfo',
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        ],
      },
    },
    {
      name: 'istio-token',
      projected: { sources: [{ serviceAccountToken: { path: 'istio-token', expirationSeconds: 43200, audience: s.tokenAudience } }] },
    },
  ];
  if (s.pilotCertProvider === 'istiod') {
    volumes.push(
      s.clusterTrustBundle
        ? {
            name: 'istiod-ca-cert',
            projected: { sources: [{ clusterTrustBundle: { name: 'istio.io:istiod-ca:root-cert', path: 'root-cert.pem' } }] },
          }
        : { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
      { name: 'istio-ca-crl', configMap: { name: 'istio-ca-crl', optional: true } },
    );
  }
  if (isset(A.bootstrapOverride)) volumes.push({ name: 'custom-bootstrap-volume', configMap: { name: ann[A.bootstrapOverride] } });
  if (s.mountMtlsCerts) {
    const sa = t.pod.spec?.serviceAccountName;
    volumes.push({ name: 'istio-certs', secret: { optional: true, secretName: sa ? `istio.${sa}` : 'istio.default' } });
  }
  for (const { value } of userEntries(ann[A.userVolume])) volumes.push(value as Volume);

  return volumes;
}

type Resources = Record<string, Record<string, string>> | undefined;

/** The entries of a userVolume/userVolumeMount annotation (validated before the template runs; absent: none). */
function userEntries(text: string | undefined): UserVolumeEntry[] {
  if (text === undefined) return [];
  const parsed = parseUserVolumes(text);
  return typeof parsed === 'string' ? [] : parsed;
}
