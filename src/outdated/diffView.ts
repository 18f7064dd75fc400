/**
 * `outdated --diff` for one pod: the pod as its workload created it (its injection taken off), injected by
 * mesh-webhook, and every field of the injected parts compared with the running pod's (./sidecarDiff.ts).
 *
 * Taken off the running pod, so that mesh-webhook injects into what the earlier injector was given:
 * - the containers, volumes and image pull secrets its `sidecar.istio.io/status` lists, and that annotation;
 * - a Prometheus merge (as `outdated` undoes it, ./compare.ts);
 * - the probe rewrite: the app containers' probes and lifecycle hooks that point at the proxy
 *   (`/app-health/<container>/...`, `/app-lifecycle/<container>/...`) get back the actions istio-proxy's
 *   `ISTIO_KUBE_APP_PROBERS` kept;
 * - the labels and annotations an injector sets, unless the pod template of the pod's controller declares them (then
 *   the template's value). Without a pod template to read (a bare pod, a controller that cannot be read) they are
 *   kept as the pod's own, which hides nothing the template honours (it keeps a value the pod sets) but would carry
 *   Istio CNI's annotations over; the diff says so in a note.
 */
import type { Injector } from '../inject/api.js';
import { L } from '../inject/annotations.js';
import { findProxy, PROXY_CONTAINER } from '../inject/containers.js';
import { parseStatus } from '../inject/overrides.js';
import { APP_PROBERS_ENV, restoreContainerProbes } from '../inject/probes.js';
import type { Container, Pod } from '../k8s/types.js';
import { asString, isPlainObject } from '../util/json.js';
import { expectedPod, withoutInjection } from './compare.js';
import type { TemplateMetadata } from './owners.js';
import type { PodDiff } from './report.js';
import { INJECTOR_ANNOTATIONS, INJECTOR_LABELS, sidecarDifferences } from './sidecarDiff.js';

/** The annotations ./compare.ts restores itself (the status, the Prometheus merge): not taken from the template. */
const RESTORED = new Set(['sidecar.istio.io/status', 'prometheus.io/scrape', 'prometheus.io/path', 'prometheus.io/port']);

/** The app containers' probes and lifecycle hooks as they were before the probe rewrite (from ISTIO_KUBE_APP_PROBERS). */
function withProbesRestored(pod: Pod, proxy: Container | undefined): Pod {
  const text = proxy?.env?.find((e) => isPlainObject(e) && e.name === APP_PROBERS_ENV)?.value;
  let probers: unknown;
  try {
    probers = text ? JSON.parse(text) : undefined;
  } catch {
    return pod;
  }
  if (!isPlainObject(probers)) return pod;
  const restore = (c: Container): Container => (isPlainObject(c) ? restoreContainerProbes(c, probers) : c);
  const spec = pod.spec ?? {};
  return { ...pod, spec: { ...spec, containers: spec.containers?.map(restore), initContainers: spec.initContainers?.map(restore) } };
}

/** The injector's labels and annotations as the pod template declares them (absent when it does not). */
function withTemplateMetadata(pod: Pod, template: TemplateMetadata): Pod {
  const labels = { ...(pod.metadata?.labels ?? {}) };
  const annotations = { ...(pod.metadata?.annotations ?? {}) };
  const apply = (target: Record<string, string>, keys: readonly string[], declared: Record<string, string>) => {
    for (const key of keys) {
      if (RESTORED.has(key)) continue;
      if (Object.hasOwn(declared, key)) target[key] = declared[key]!;
      else delete target[key];
    }
  };
  apply(labels, INJECTOR_LABELS, template.labels);
  apply(annotations, INJECTOR_ANNOTATIONS, template.annotations);
  return { ...pod, metadata: { ...pod.metadata, labels, annotations } };
}

/**
 * The pod before its injection: {@link withoutInjection} (containers, status annotation, Prometheus merge), then the
 * volumes and image pull secrets the status lists, the probe rewrite, and the injector's labels and annotations.
 */
export function podBeforeInjection(pod: Pod, template: TemplateMetadata | undefined): Pod {
  const proxy = findProxy(pod)?.container;
  const status = parseStatus(pod.metadata?.annotations?.['sidecar.istio.io/status']);
  const stripped = withoutInjection(pod, proxy ?? { name: PROXY_CONTAINER });
  const spec = { ...stripped.spec };
  const listed = (names: string[] | undefined) => (item: unknown) => !(isPlainObject(item) && names?.includes(asString(item['name'])));
  if (Array.isArray(spec.volumes)) spec.volumes = spec.volumes.filter(listed(status?.volumes));
  if (Array.isArray(spec.imagePullSecrets)) {
    const kept = spec.imagePullSecrets.filter(listed(status?.imagePullSecrets));
    if (kept.length > 0) spec.imagePullSecrets = kept;
    else delete spec.imagePullSecrets;
  }
  let out: Pod = { ...stripped, spec };
  out = withProbesRestored(out, proxy);
  return template ? withTemplateMetadata(out, template) : out;
}

/** The template's metadata, or why there is none (noted on the diff). */
export type TemplateLookup = { metadata: TemplateMetadata } | { problem: string };

/** One pod compared field by field with what mesh-webhook injects into it. Never throws. */
export function diffPod(injector: Injector, pod: Pod, template: TemplateLookup): PodDiff {
  const name = asString(pod.metadata?.name);
  const notes: string[] = [];
  try {
    const known = 'metadata' in template ? template.metadata : undefined;
    if ('problem' in template) {
      notes.push(
        `${template.problem}: the labels and annotations the injector sets (${L.canonicalName}, kubectl.kubernetes.io/default-container, ...) are taken as the pod's own`,
      );
    }
    const before = podBeforeInjection(pod, known);
    const expected = expectedPod(injector, before, asString(pod.metadata?.namespace));
    if ('problem' in expected) return { pod: name, differences: [], notes: [...notes, expected.problem], compared: false };
    return { pod: name, differences: sidecarDifferences({ live: pod, ours: expected.pod, input: expected.input }), notes, compared: true };
  } catch (err) {
    return { pod: name, differences: [], notes: [...notes, `the pod could not be compared: ${(err as Error).message}`], compared: false };
  }
}
