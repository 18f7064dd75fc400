/**
 * Findings of the validating webhook and `mesh-webhook validate`: a stable code (istioctl's IST code where one
 * exists, MW for mesh-webhook's own), a severity, the object and field, and a short message saying what to do.
 */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  code: string;
  severity: Severity;
  /** `Kind namespace/name` (or `Kind name` for cluster-scoped objects). */
  object: string;
  /** JSON path of the field, e.g. `spec.template.spec.containers[0].ports[1]`. */
  path: string;
  message: string;
}

export interface RuleInfo {
  code: string;
  severity: Severity;
  title: string;
  fix: string;
}

/** Every rule, for documentation and `--list`; the severity here is the one findings carry. */
export const RULES: readonly RuleInfo[] = [
  { code: 'IST0107', severity: 'warning', title: 'Misplaced annotation: no effect on this kind (e.g. a pod annotation on the workload, not its template)', fix: 'move it to the kind it applies to (spec.template.metadata.annotations for pod annotations)' },
  { code: 'IST0108', severity: 'warning', title: 'Unknown annotation in an Istio domain', fix: 'fix the spelling or remove it; Istio ignores unknown annotations' },
  { code: 'IST0125', severity: 'error', title: 'Invalid annotation value (istioctl: warning; an error here because the injector rejects the pod, so enforce mode refuses the workload before its pods fail)', fix: 'correct the value as the message says' },
  { code: 'IST0135', severity: 'info', title: 'Deprecated annotation (e.g. the sidecar.istio.io/inject annotation)', fix: 'use the replacement (the sidecar.istio.io/inject label)' },
  { code: 'IST0144', severity: 'warning', title: 'Pod or container (not istio-proxy, istio-operator) runs as UID 1337, the proxy UID: its traffic bypasses the proxy', fix: 'run the application as another UID' },
  { code: 'IST0123', severity: 'warning', title: 'Namespace (not istio-system) has more than one injection label (istio-injection; istio.io/rev and istio.io/dataplane-mode count only when istio-injection is absent or enabled)', fix: 'keep one injection label' },
  { code: 'IST0118', severity: 'info', title: 'Service port with no protocol Istio knows, by name prefix or appProtocol (UDP and ports 25, 53, 3306, 27017 never are)', fix: 'name the port <protocol>[-suffix] (http-web, grpc, tcp-db) or set a known appProtocol' },
  { code: 'IST0150', severity: 'warning', title: 'ExternalName Service port with no known protocol, or named tcp', fix: 'name the port for its protocol (http-..., tls-...)' },
  { code: 'MW0101', severity: 'error', title: 'Container port collides with a port the proxy reserves', fix: 'move the application to another port' },
  { code: 'MW0102', severity: 'warning', title: 'UDP port: the proxy carries TCP only', fix: 'expect UDP to bypass the mesh (no mTLS, no telemetry), or use TCP' },
  { code: 'MW0103', severity: 'warning', title: 'Probe the rewrite cannot carry', fix: 'see the message: declare the named port, drop httpGet.host, or enable the probe rewrite' },
  { code: 'MW0104', severity: 'info', title: 'Exec probe is not rewritten', fix: 'make it check localhost inside the container, not the pod or Service address' },
  { code: 'MW0105', severity: 'warning', title: 'Init container runs as UID 1337, the proxy UID (istioctl checks containers only): its traffic bypasses the proxy', fix: 'run it as another UID' },
  { code: 'MW0201', severity: 'warning', title: 'Job with a classic sidecar will not complete', fix: 'use native sidecars (sidecar.istio.io/nativeSidecar: "true", Kubernetes >= 1.33) or call the proxy quit endpoint at the end' },
  { code: 'MW0301', severity: 'error', title: 'Pod Security baseline/restricted rejects istio-init (NET_ADMIN, NET_RAW)', fix: 'enable Istio CNI (values.pilot.cni.enabled) or relax the namespace Pod Security level' },
  { code: 'MW0401', severity: 'error', title: 'Injection would fail: the injector rejects the pod', fix: 'see the message' },
  { code: 'MW0402', severity: 'error', title: 'Proxy resource annotations ask for a request above the limit (proxyCPU over proxyCPULimit, proxyMemory over proxyMemoryLimit): the injector rejects the pod (the API server would too)', fix: 'lower the request annotation or raise the limit annotation' },
  { code: 'MW0601', severity: 'error', title: 'sidecar.istio.io/proxyImage from a registry the operator does not allow', fix: 'use the configured proxy image, or ask the operator to allow the registry (safety.allowedProxyImagePrefixes)' },
  { code: 'MW0602', severity: 'error', title: 'sidecar.istio.io/userVolume of a forbidden type (default: hostPath)', fix: 'use another volume type, e.g. a Secret, ConfigMap or emptyDir' },
  { code: 'MW0603', severity: 'error', title: "Injected container with privileges beyond the operator's configuration (root, privileged, capabilities, host ports, no seccomp ...), asked for by an annotation or a declared container", fix: 'remove what asks for it (interceptionMode TPROXY, capNetBindService, enableCoreDump, a securityContext in a declared istio-proxy/istio-init or in proxy.istio.io/overrides), or ask the operator (safety.limitInjectedPrivileges)' },
  { code: 'MW0604', severity: 'error', title: "A pod changes what a privileged injected container runs (command, args, exec hooks or probes, volumes over its programs, the proxy's binaryPath or bootstrap)", fix: 'remove them from the declared istio-init/istio-proxy, proxy.istio.io/overrides or proxy.istio.io/config (safety.lockInjectedCommands)' },
  { code: 'MW0605', severity: 'error', title: 'Injected container image from a registry the operator does not allow (declared istio-proxy/istio-init, proxy.istio.io/overrides)', fix: 'use image: auto (the injected image) or an image the operator allows (safety.allowedProxyImagePrefixes)' },
  { code: 'MW0606', severity: 'error', title: 'A pod sets an environment variable the operator forbids in the injected containers (loader, proxy identity, istio-iptables), or envFrom', fix: 'remove it from proxyMetadata of proxy.istio.io/config, the declared container or proxy.istio.io/overrides (safety.forbiddenInjectedEnv)' },
  { code: 'MW0607', severity: 'warning', title: 'sidecar.istio.io/status names containers the injector does not add', fix: 'remove the annotation: the injector writes it (with safety.stripOnlyInjectedContainers off, re-injection hides those containers from the template, e.g. from ISTIO_META_APP_CONTAINERS)' },
  { code: 'MW0501', severity: 'error', title: 'PeerAuthentication mTLS mode is not UNSET, DISABLE, PERMISSIVE or STRICT', fix: 'use one of the four modes' },
  { code: 'MW0502', severity: 'error', title: 'Mesh-wide PeerAuthentication is not STRICT (Kyma runs STRICT mTLS)', fix: 'set spec.mtls.mode: STRICT on the mesh-wide policy; relax per namespace or workload instead' },
];

export const RULE_BY_CODE: ReadonlyMap<string, RuleInfo> = new Map(RULES.map((r) => [r.code, r]));

/** Builds findings for one object, with the rule's severity. */
export function findingsFor(object: string) {
  const out: Finding[] = [];
  return {
    out,
    add(code: string, path: string, message: string): void {
      const rule = RULE_BY_CODE.get(code);
      if (!rule) throw new Error(`unknown rule ${code}`);
      out.push({ code, severity: rule.severity, object, path, message });
    },
  };
}
