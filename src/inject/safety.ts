/**
 * What pod annotations may ask of the injector, within the operator's limits: `sidecar.istio.io/proxyImage` only from
 * allowed image prefixes (default: the configured hub), `sidecar.istio.io/userVolume` without forbidden volume types
 * (default: hostPath). The injector rejects the pod otherwise, and the validator reports it (MW0601, MW0602).
 * The injector never reads files or reaches the network on behalf of an annotation: annotations are data.
 */
import type { SafetySettings } from '../config/types.js';
import { A, type AnnotationProblem } from './annotations.js';

export interface SafetyRules {
  allowedPrefixes: readonly string[];
  forbiddenVolumeTypes: ReadonlySet<string>;
}

export function compileSafety(safety: SafetySettings, hub: string): SafetyRules {
  const prefixes = safety.allowedProxyImagePrefixes.length > 0 ? safety.allowedProxyImagePrefixes : [hub];
  return {
    allowedPrefixes: prefixes.map((p) => p.replace(/\/+$/, '')).filter(Boolean),
    forbiddenVolumeTypes: new Set(safety.forbiddenUserVolumeTypes),
  };
}

export interface SafetyProblem extends AnnotationProblem {
  code: 'MW0601' | 'MW0602';
}

export function safetyProblems(annotations: Record<string, string> | undefined, rules: SafetyRules): SafetyProblem[] {
  if (!annotations) return [];
  const problems: SafetyProblem[] = [];
  const image = annotations[A.proxyImage];
  // Without a '/', the annotation does not name an image and the configured image is used (Istio's rule).
  const allowed = (img: string) => rules.allowedPrefixes.some((p) => p === '*' || img.startsWith(`${p}/`));
  if (image !== undefined && image.includes('/') && !allowed(image)) {
    problems.push({
      code: 'MW0601',
      annotation: A.proxyImage,
      value: image,
      problem: `proxy images must come from ${rules.allowedPrefixes.join(', ') || 'the configured hub'} (safety.allowedProxyImagePrefixes)`,
    });
  }
  const volumes = annotations[A.userVolume];
  if (volumes !== undefined && rules.forbiddenVolumeTypes.size > 0) {
    try {
      const parsed = JSON.parse(volumes) as Record<string, Record<string, unknown>>;
      for (const [name, volume] of Object.entries(parsed ?? {})) {
        const forbidden = Object.keys(volume ?? {}).filter((t) => rules.forbiddenVolumeTypes.has(t));
        if (forbidden.length > 0) {
          problems.push({
            code: 'MW0602',
            annotation: A.userVolume,
            value: volumes,
            problem: `volume '${name}' uses ${forbidden.join(', ')}, which the operator does not allow (safety.forbiddenUserVolumeTypes)`,
          });
        }
      }
    } catch {
      /* not JSON: the annotation validator reports it */
    }
  }
  return problems;
}
