/**
 * Rules for anything that runs pods (Pods and workloads with a pod template): what will break once the sidecar is
 * there. The injector itself is run as a dry run, so these rules see exactly the pod the webhook would produce.
 */
import type { InjectionOutcome, RejectionCategory } from '../inject/api.js';
import { A, parseGoBool, quoteValue, validateInjectionAnnotations } from '../inject/annotations.js';
import { hasNativeProxy, INIT_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER } from '../inject/containers.js';
import { describeResourceConflict, resourceConflicts } from '../inject/resourceAnnotations.js';
import { parseStatus } from '../inject/overrides.js';
import type { Container, Pod, Probe } from '../k8s/types.js';
import type { Finding } from './findings.js';
import { findingsFor } from './findings.js';
import { annotationFindings } from './annotationRules.js';
import { INJECTED_CONTAINER_NAMES, safetyProblems, type SafetyRules } from '../inject/safety.js';

/** Ports the proxy listens on inside the pod's network namespace. */
export const PROXY_RESERVED_PORTS: ReadonlyMap<number, string> = new Map([
  [15000, 'Envoy admin'],
  [15001, 'outbound capture'],
  [15004, 'debug'],
  [15006, 'inbound capture'],
  [15008, 'HBONE tunnel'],
  [15009, 'HBONE tunnel (plaintext)'],
  [15020, 'merged metrics and app probes'],
  [15021, 'health'],
  [15053, 'DNS proxy'],
  [15090, 'Envoy Prometheus'],
]);

const PROXY_UID = 1337;
/** Containers applicationUID.Analyzer lets run as 1337 (util IstioProxyName, IstioOperator). */
const UID_EXEMPT_CONTAINERS = new Set([PROXY_CONTAINER, 'istio-operator']);
const PSS_REJECTING_ISTIO_INIT = ['baseline', 'restricted'];

export interface PodSubject {
  /** `Kind ns/name`. */
  object: string;
  kind: string;
  /** Path of the pod template from the object root (`''` for a Pod, `spec.template` for workloads). */
  templatePath: string;
  /** The workload's own metadata (for misplaced annotations); undefined for a Pod. */
  workloadAnnotations?: Record<string, string>;
  pod: Pod;
  /** The injector's answer for this pod (dry run). */
  outcome: InjectionOutcome;
  /** The operator's limits on annotations (proxy image registries, user volume types). */
  safety: SafetyRules;
  /** `sidecarInjectorWebhook.rewriteAppHTTPProbe` of the configuration. */
  rewriteByDefault: boolean;
  namespaceLabels?: Readonly<Record<string, string>>;
  /** The object's own labels mark it as Istio's control plane (`istio`, `release: istio`): no IST0144. */
  istioControlPlane: boolean;
}

const join = (base: string, rest: string) => (base ? `${base}.${rest}` : rest);

function probeFindings(c: Container, at: string, rewrite: boolean, add: (code: string, path: string, msg: string) => void): void {
  const declared = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
  for (const field of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
    const probe = c[field] as Probe | undefined;
    if (!probe) continue;
    const path = `${at}.${field}`;
    const action = probe.httpGet ?? probe.tcpSocket;
    if (probe.exec) {
      const cmd = (probe.exec.command ?? []).join(' ');
      if (/https?:\/\/(?!(?:localhost|127\.0\.0\.1|\[::1\])(?:[:/]|\s|$))/.test(cmd)) {
        add('MW0104', path, `exec probe calls ${quoteValue(cmd.match(/https?:\/\/[^\s/]+/)?.[0] ?? '')}: with STRICT mTLS that goes through the mesh; probe localhost instead`);
      }
      continue;
    }
    if (!rewrite && (probe.httpGet || probe.tcpSocket || probe.grpc)) {
      add('MW0103', path, `probe is not rewritten (rewriteAppHTTPProbers off): the kubelet cannot pass STRICT mTLS; enable the rewrite or exclude the port from interception`);
      continue;
    }
    if (action && typeof action.port === 'string' && !declared.has(action.port)) {
      add('MW0103', `${path}.${probe.httpGet ? 'httpGet' : 'tcpSocket'}.port`, `named port '${quoteValue(action.port)}' is not declared in this container's ports: the proxy cannot resolve it and the probe fails; declare the port or use its number`);
    }
    if (probe.httpGet?.host) {
      add('MW0103', `${path}.httpGet.host`, `httpGet.host '${quoteValue(String(probe.httpGet.host))}' sends the rewritten probe elsewhere than the proxy; remove host`);
    }
  }
}

/**
 * MW0607: a `sidecar.istio.io/status` that names containers of the pod the injector never adds (written by hand, or
 * copied from another pod): Istio's re-injection removes every container it names.
 */
function statusFindings(s: PodSubject, annotations: Record<string, string>, path: string, add: (code: string, path: string, msg: string) => void): void {
  const status = parseStatus(annotations[A.status]);
  if (!status) return;
  const present = new Set([...(s.pod.spec?.containers ?? []), ...(s.pod.spec?.initContainers ?? [])].map((c) => c?.name));
  const foreign = [...new Set([...status.containers, ...status.initContainers])].filter((n) => !INJECTED_CONTAINER_NAMES.has(n) && present.has(n));
  if (foreign.length === 0) return;
  const names = quoteValue(foreign.join(', '));
  add(
    'MW0607',
    path,
    s.safety.stripOnlyInjected
      ? `${A.status} names container(s) ${names}, which the injector does not add: they are kept (safety.stripOnlyInjectedContainers); remove the annotation, the injector writes it`
      : `${A.status} names container(s) ${names}, which the injector does not add: injection removes them, as Istio does; remove the annotation, or set safety.stripOnlyInjectedContainers`,
  );
}

/** How the injector words the reason of a pod it cannot read (`invalid pod: <field> must be ...`). */
const SHAPE_REASON = 'invalid pod: ';

/**
 * The field an injector rejection is about, from the object root: the malformed field the injector names
 * (`spec.containers[0].env must be a list` → `spec.template.spec.containers[0].env`), the place the injector gives
 * (the annotation of an unknown template or a bad prometheus port, the pod spec), else the pod's annotations.
 */
export function rejectionPath(outcome: { category: RejectionCategory; reason: string; at?: string }, templatePath: string): string {
  if (outcome.category === 'invalidPod' && outcome.reason.startsWith(SHAPE_REASON)) {
    const field = /^((?:metadata|spec)(?:\.[A-Za-z]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*) must be /.exec(outcome.reason.slice(SHAPE_REASON.length))?.[1];
    return field ? join(templatePath, field) : templatePath || 'spec';
  }
  return join(templatePath, outcome.at ?? 'metadata.annotations');
}

const runAsUser = (x: object): unknown => (x as { securityContext?: { runAsUser?: unknown } | null }).securityContext?.runAsUser;

/**
 * IST0144 as applicationUID.Analyzer reports it (deployment/pod.go), injected or not: the pod's runAsUser, and each
 * container's except istio-proxy and istio-operator; nothing for Istio's control plane. Init containers: MW0105.
 */
function uidFindings(s: PodSubject, add: (code: string, path: string, msg: string) => void): void {
  const specPath = join(s.templatePath, 'spec');
  if (!s.istioControlPlane && s.pod.spec && runAsUser(s.pod.spec) === PROXY_UID) {
    add('IST0144', `${specPath}.securityContext.runAsUser`, 'pod runs as UID 1337, the proxy UID: its traffic bypasses the proxy (no mTLS); use another UID');
  }
  (s.pod.spec?.containers ?? []).forEach((c, i) => {
    if (!s.istioControlPlane && !UID_EXEMPT_CONTAINERS.has(c.name) && runAsUser(c) === PROXY_UID) {
      add('IST0144', `${specPath}.containers[${i}].securityContext.runAsUser`, `container ${quoteValue(c.name)} runs as UID 1337, the proxy UID: its traffic bypasses the proxy; use another UID`);
    }
  });
}

export function podFindings(s: PodSubject): Finding[] {
  const { out, add } = findingsFor(s.object);
  const metaPath = join(s.templatePath, 'metadata.annotations');
  const annotations = s.pod.metadata?.annotations ?? {};
  out.push(...annotationFindings(s.object, s.kind, s.templatePath, annotations, s.workloadAnnotations, s.pod.metadata?.labels ?? {}));

  const unsafe = safetyProblems(annotations, s.safety);
  for (const p of unsafe) add(p.code, `${metaPath}["${p.annotation}"]`, `${p.annotation}: ${p.problem}`);
  let injected: Pod | undefined;
  if (s.outcome.kind === 'rejected') {
    // The injected containers' problems carry their own codes (MW0603-MW0606) and where the pod asked for them.
    const problems = s.outcome.problems ?? [];
    // One finding per code and place (istio-validation takes a declared istio-proxy's user: both point at it).
    const merged = new Map<string, { code: string; path: string; messages: string[] }>();
    for (const p of problems) {
      const key = `${p.code} ${p.path}`;
      const entry = merged.get(key) ?? { code: p.code, path: p.path, messages: [] };
      entry.messages.push(p.message);
      merged.set(key, entry);
    }
    for (const m of merged.values()) add(m.code, join(s.templatePath, m.path), m.messages.join('; '));
    // Annotation values are reported as IST0125 above, limits as MW060x, resource annotations as MW0402; anything else the
    // injector refuses is MW0401.
    // Request annotations above their limit annotations (the injector refuses them after the values are valid).
    const conflicts = resourceConflicts(annotations);
    for (const c of conflicts) add('MW0402', `${metaPath}["${c.request.annotation}"]`, describeResourceConflict(c, metaPath));
    const unreadable = s.outcome.category === 'invalidPod';
    const explained = validateInjectionAnnotations(annotations).length + unsafe.length + problems.length + conflicts.length > 0;
    if (unreadable || !explained) {
      add('MW0401', rejectionPath(s.outcome, s.templatePath), s.outcome.message);
    }
    // A pod the injector cannot even read (a malformed field) gets no further rules; any other rejection still gets
    // every rule that reads the pod itself, so one bad annotation does not hide the pod's other findings.
    if (unreadable) return out;
  }
  uidFindings(s, add);
  if (s.outcome.kind === 'injected') {
    injected = s.outcome.pod;
    statusFindings(s, annotations, `${metaPath}["${A.status}"]`, add);
  } else if (s.outcome.kind !== 'rejected') {
    return out;
  }

  const specPath = join(s.templatePath, 'spec');
  const rewrite = parseGoBool(annotations[A.rewriteAppHTTPProbers]) ?? s.rewriteByDefault;
  for (const field of ['containers', 'initContainers'] as const) {
    (s.pod.spec?.[field] ?? []).forEach((c, i) => {
      const at = `${specPath}.${field}[${i}]`;
      if (c.name === PROXY_CONTAINER || c.name === INIT_CONTAINER || c.name === VALIDATION_CONTAINER) return;
      if (field === 'initContainers' && runAsUser(c) === PROXY_UID) {
        add('MW0105', `${at}.securityContext.runAsUser`, `init container ${quoteValue(c.name)} runs as UID 1337, the proxy UID: its traffic bypasses the proxy; use another UID`);
      }
      (c.ports ?? []).forEach((p, j) => {
        const reserved = typeof p.containerPort === 'number' ? PROXY_RESERVED_PORTS.get(p.containerPort) : undefined;
        if (reserved) add('MW0101', `${at}.ports[${j}]`, `port ${p.containerPort} is reserved by the proxy (${reserved}); move the application to another port`);
        if (p.protocol === 'UDP') add('MW0102', `${at}.ports[${j}]`, `UDP port ${quoteValue(String(p.containerPort))}: the proxy carries TCP only, so this traffic bypasses the mesh (no mTLS)`);
      });
      probeFindings(c, at, rewrite, add);
    });
  }
  if (!injected) return out;
  if ((s.kind === 'Job' || s.kind === 'CronJob') && !hasNativeProxy(injected)) {
    add(
      'MW0201',
      specPath,
      `${s.kind} gets a classic istio-proxy container that keeps running, so the Job never completes; set annotation sidecar.istio.io/nativeSidecar: "true" (Kubernetes >= 1.33) or POST to the proxy's /quitquitquit when done`,
    );
  }
  const enforce = s.namespaceLabels?.['pod-security.kubernetes.io/enforce'];
  if (enforce && PSS_REJECTING_ISTIO_INIT.includes(enforce) && injected.spec?.initContainers?.some((c) => c.name === INIT_CONTAINER)) {
    add('MW0301', specPath, `namespace enforces Pod Security "${enforce}", which rejects istio-init (NET_ADMIN, NET_RAW); enable Istio CNI or relax the level`);
  }
  return out;
}
