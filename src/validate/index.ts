/**
 * The validator: findings for one Kubernetes object, as pure functions of (object, config). The `/validate` endpoint
 * and `mesh-webhook validate` both call `createValidator(config, cluster).validate(object)`.
 */
import type { ClusterView } from '../cluster/view.js';
import type { InjectorConfig, ValidationMode } from '../config/types.js';
import { VALIDATION_MODES } from '../config/types.js';
import { decideInjection } from '../inject/decision.js';
import { quoteValue } from '../inject/annotations.js';
import { createInjector, type CompiledInjector } from '../inject/index.js';
import type { Pod } from '../k8s/types.js';
import { asString, isPlainObject } from '../util/json.js';
import { apiGroup, podTemplateShape } from '../workloads/kinds.js';
import type { Finding } from './findings.js';
import { namespaceFindings, peerAuthenticationFindings, serviceFindings } from './objectRules.js';
import { objectAnnotationFindings } from './annotationRules.js';
import { podFindings } from './podRules.js';
import { isIstioControlPlane, isIstioIgnoredNamespace, isIstioManagedGatewayService } from './istioScope.js';

export type { Finding, Severity } from './findings.js';
export { RULES } from './findings.js';

/** Namespace label that overrides the validation mode for the namespace's objects. */
export const MODE_LABEL = 'mesh-webhook.kyma-project.io/validation-mode';
/** Annotations listing codes not to report for the object (comma-separated; `*` for all). */
export const SUPPRESS_ANNOTATIONS = ['mesh-webhook.kyma-project.io/suppress', 'galley.istio.io/analyze-suppress'];


function at(root: unknown, path: readonly string[]): unknown {
  let cur = root;
  for (const key of path) cur = isPlainObject(cur) ? cur[key] : undefined;
  return cur;
}

function stringMap(v: unknown): Record<string, string> {
  if (!isPlainObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function suppressed(...annotationMaps: Record<string, string>[]): Set<string> {
  const codes = new Set<string>();
  for (const map of annotationMaps) {
    for (const key of SUPPRESS_ANNOTATIONS) {
      for (const code of (map[key] ?? '').split(',')) if (code.trim()) codes.add(code.trim());
    }
  }
  return codes;
}

export interface Validator {
  /** Findings for one object; `namespace` is the request's namespace when the object has none. */
  validate(object: unknown, namespace?: string): Finding[];
  /** The mode for objects of `namespace` (its label overrides the configured mode); `labels` when already known. */
  modeFor(namespace: string, labels?: Readonly<Record<string, string>>): ValidationMode;
}

/**
 * `injector`: the injector of the same configuration and cluster view when the caller has one (the server's runtime),
 * so the configuration is compiled once per load.
 */
export function createValidator(config: InjectorConfig, cluster?: ClusterView, injector: CompiledInjector = createInjector(config, cluster)): Validator {
  const settings = injector.settings;
  // The injector's own limits (with the images and privileges of the operator's template), so both always agree.
  const safety = injector.safety;
  const rootNamespace = asString(config.meshConfig.rootNamespace) || 'istio-system';
  const labelsOf = (ns: string) => cluster?.namespaceLabels(ns) ?? config.namespaceLabels[ns];

  function validate(object: unknown, requestNamespace = ''): Finding[] {
    if (!isPlainObject(object)) return [];
    const apiVersion = asString(object.apiVersion);
    const kind = asString(object.kind);
    const meta = isPlainObject(object.metadata) ? object.metadata : {};
    const name = asString(meta.name) || asString(meta.generateName);
    const namespace = asString(meta.namespace) || requestNamespace;
    const id = namespace ? `${quoteValue(kind)} ${quoteValue(namespace)}/${quoteValue(name)}` : `${quoteValue(kind)} ${quoteValue(name)}`;
    const objectAnnotations = stringMap(meta.annotations);
    const objectLabels = stringMap(meta.labels);
    let findings: Finding[] = [];
    let templateAnnotations: Record<string, string> = {};

    const shape = podTemplateShape(apiVersion, kind);
    if (shape) {
      const template = shape.template.length ? at(object, shape.template) : object;
      if (!isPlainObject(template)) return [];
      const pod = { metadata: isPlainObject(template.metadata) ? template.metadata : {}, spec: template.spec } as Pod;
      templateAnnotations = stringMap(pod.metadata?.annotations);
      const isPod = shape.template.length === 0;
      const outcome = injector.inject({
        pod,
        namespace,
        ...(isPod ? {} : { workload: { apiVersion, kind, name, namespace } }),
      });
      findings = podFindings({
        object: id,
        kind,
        templatePath: shape.template.join('.'),
        ...(isPod ? {} : { workloadAnnotations: objectAnnotations }),
        pod,
        outcome,
        safety,
        rewriteByDefault: settings.rewriteAppHTTPProbe,
        namespaceLabels: labelsOf(namespace),
        istioControlPlane: isIstioControlPlane(objectLabels),
      });
    } else if (kind === 'Namespace' && apiGroup(apiVersion) === '') {
      const labels = objectLabels;
      const decision = decideInjection(
        { pod: { metadata: {}, spec: {} }, namespace: name, namespaceLabels: labels, revision: settings.revision || 'default', enableNamespacesByDefault: settings.enableNamespacesByDefault },
        config,
      );
      findings = [
        ...objectAnnotationFindings(id, kind, objectAnnotations),
        ...namespaceFindings(id, labels, { istioInit: !settings.cniEnabled, injected: decision.inject, analyzeInjectionLabels: name !== 'istio-system' }),
      ];
    } else if (kind === 'Service' && apiGroup(apiVersion) === '') {
      const portNames = !isIstioControlPlane(objectLabels) && !isIstioManagedGatewayService(objectLabels);
      findings = [...objectAnnotationFindings(id, kind, objectAnnotations), ...(portNames ? serviceFindings(id, object.spec) : [])];
    } else if (kind === 'PeerAuthentication' && apiGroup(apiVersion) === 'security.istio.io') {
      findings = peerAuthenticationFindings(id, namespace, object.spec, { rootNamespace, requireStrictMeshWide: config.profile === 'kyma' });
    }
    // istioctl analyze never reads the system namespaces (nor those Namespaces): no IST finding there.
    if (isIstioIgnoredNamespace(kind === 'Namespace' && apiGroup(apiVersion) === '' ? name : namespace)) findings = findings.filter((f) => !f.code.startsWith('IST'));
    const skip = suppressed(objectAnnotations, templateAnnotations);
    return skip.has('*') ? [] : findings.filter((f) => !skip.has(f.code));
  }

  function modeFor(namespace: string, labels?: Readonly<Record<string, string>>): ValidationMode {
    const label = (labels ?? labelsOf(namespace))?.[MODE_LABEL];
    return label && (VALIDATION_MODES as readonly string[]).includes(label) ? (label as ValidationMode) : config.validation.mode;
  }

  return { validate, modeFor };
}

/** How many characters of warnings an answer may carry (the API server ignores warnings past 4096). */
const WARNINGS_BUDGET = 4096;
const WARNING_MAX = 256;

export function formatFinding(f: Finding): string {
  return `${f.code} ${f.object} ${f.path}: ${f.message}`;
}

export interface ValidationVerdict {
  allowed: boolean;
  /** Denial message (enforce mode with errors). */
  message?: string;
  /** AdmissionReview warnings (short, within the 4 KiB budget). */
  warnings: string[];
  /** Compact summary for the audit annotation. */
  audit: string;
}

/** Turns findings into an admission answer for a mode: enforce denies errors, warn only warns, audit only records. */
export function verdict(findings: readonly Finding[], mode: ValidationMode): ValidationVerdict {
  const errors = findings.filter((f) => f.severity === 'error');
  const audit = findings.length === 0 ? 'ok' : findings.map((f) => `${f.code}(${f.severity}) ${f.path}`).join('; ');
  if (mode === 'audit') return { allowed: true, warnings: [], audit: `${mode}: ${audit}` };
  const warnings: string[] = [];
  let used = 0;
  for (const f of findings.filter((x) => x.severity !== 'info' && (mode === 'warn' || x.severity === 'warning'))) {
    let text = formatFinding(f);
    if (text.length > WARNING_MAX) text = `${text.slice(0, WARNING_MAX - 1)}…`;
    if (used + text.length > WARNINGS_BUDGET) break;
    warnings.push(text);
    used += text.length;
  }
  if (mode === 'enforce' && errors.length > 0) {
    const message = `mesh-webhook denied: ${errors.length} error(s): ${findings.map(formatFinding).join('; ')}`;
    return { allowed: false, message, warnings, audit: `${mode}: ${audit}` };
  }
  return { allowed: true, warnings, audit: `${mode}: ${audit}` };
}
