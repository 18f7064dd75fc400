/**
 * Annotation rules, as istioctl analyze applies them (IST0107 misplaced, IST0108 unknown, IST0135 deprecated,
 * IST0125 invalid value), with the injector's own validators so validation never disagrees with injection.
 * Checked: the pod template's annotations (kind Pod) and, for workloads, the workload's own annotations — where a
 * pod annotation has no effect (istioctl checks Deployments; we check every workload kind).
 */
import { describeAnnotationProblem, quoteValue, validateInjectionAnnotations } from '../inject/annotations.js';
import type { Finding } from './findings.js';
import { findingsFor } from './findings.js';
import { ALWAYS_IGNORED_ANNOTATIONS, DEPRECATION_EXTRA_MESSAGES, ISTIO_ANNOTATIONS, isIstioDomain } from './istioAnnotations.js';

const INJECT = 'sidecar.istio.io/inject';

/** IST0107/0108/0135 for the annotations of a Service or Namespace (istioctl checks those kinds too). */
export function objectAnnotationFindings(object: string, kind: string, annotations: Record<string, string>): Finding[] {
  return annotationFindings(object, kind, '', {}, annotations, {}, false);
}

export function annotationFindings(
  object: string,
  kind: string,
  templatePath: string,
  podAnnotations: Record<string, string>,
  workloadAnnotations: Record<string, string> | undefined,
  podLabels: Record<string, string>,
  /** false for Services and Namespaces: their own metadata is the right place. */
  workload = true,
): Finding[] {
  const { out, add } = findingsFor(object);
  const podPath = templatePath ? `${templatePath}.metadata.annotations` : 'metadata.annotations';
  const check = (annotations: Record<string, string>, onKind: string, base: string, onWorkload: boolean) => {
    for (const key of Object.keys(annotations)) {
      if (!isIstioDomain(key) || ALWAYS_IGNORED_ANNOTATIONS.has(key)) continue;
      const path = `${base}["${quoteValue(key)}"]`;
      const known = ISTIO_ANNOTATIONS.get(key);
      if (!known) {
        add('IST0108', path, `unknown annotation ${quoteValue(key)}: Istio ignores it; check the spelling`);
        continue;
      }
      if (known.deprecated && !(key === INJECT && Object.hasOwn(podLabels, INJECT))) {
        add('IST0135', path, `annotation ${key} is deprecated${DEPRECATION_EXTRA_MESSAGES.get(key) ?? ''} and may not work in future Istio versions`);
      }
      if (known.resources.includes('Any') || known.resources.includes(onKind as never)) continue;
      add(
        'IST0107',
        path,
        onWorkload && workload && known.resources.includes('Pod')
          ? `${key} applies to pods: on the ${onKind}'s metadata it has no effect; put it on spec.template.metadata.annotations`
          : `${key} applies to ${known.resources.join(', ')}, not to ${onKind}`,
      );
    }
  };
  check(podAnnotations, 'Pod', podPath, false);
  if (workloadAnnotations) check(workloadAnnotations, kind, 'metadata.annotations', true);
  for (const problem of validateInjectionAnnotations(podAnnotations)) {
    add('IST0125', `${podPath}["${problem.annotation}"]`, describeAnnotationProblem(problem));
  }
  return out;
}
