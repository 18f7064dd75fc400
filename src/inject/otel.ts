/**
 * `OTEL_RESOURCE_ATTRIBUTES` of the proxy, Istio's otelResourceAttributes (pkg/kube/inject/template.go), rule by rule.
 * Only when an OpenTelemetry extension provider asks for `serviceAttributeEnrichment: OTEL_SEMANTIC_CONVENTIONS`
 * (settings decide that); the inputs are the pod's own annotations, labels and containers and the workload's
 * namespace as the request gave it (empty when it gave none: nothing is made up).
 */
import type { Container } from '../k8s/types.js';

const SERVICE_NAMESPACE = 'resource.opentelemetry.io/service.namespace';
const SERVICE_VERSION = 'resource.opentelemetry.io/service.version';
const SERVICE_INSTANCE_ID = 'resource.opentelemetry.io/service.instance.id';
const VERSION_LABEL = 'app.kubernetes.io/version';

/**
 * Tag and digest of an image reference `[registry[:port]/]name[:tag][@digest]`: the digest follows the first `@`,
 * the tag follows the last `:` when that comes after the last `/` (so a registry port is not a tag).
 */
export function imageTagAndDigest(image: string): { tag: string; digest: string } {
  let name = image;
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
  }
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  return { tag, digest };
}

/** `service.version` from a single container's image: `tag@digest`, the digest, the tag, or nothing. */
function imageVersion(image: string): string {
  const { tag, digest } = imageTagAndDigest(image);
  if (tag && digest) return `${tag}@${digest}`;
  return digest || tag;
}

/**
 * The attribute list, or '' when there is none (then no env var is added):
 * - `service.namespace`: the annotation if non-empty, else the namespace if non-empty;
 * - `service.version`: the annotation, else the `app.kubernetes.io/version` label (each if non-empty), else the image
 *   tag/digest when the pod has exactly one container;
 * - `service.instance.id`: the annotation if non-empty, else `<namespace>.$(POD_NAME).<first container>` when the pod
 *   has a container (Kubernetes substitutes `$(POD_NAME)` from the proxy's env).
 */
export function otelResourceAttributes(
  annotations: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
  namespace: string,
  containers: readonly Pick<Container, 'name' | 'image'>[],
): string {
  const own = (map: Readonly<Record<string, string>>, key: string): string =>
    Object.hasOwn(map, key) && typeof map[key] === 'string' ? map[key] : '';
  const attrs: string[] = [];

  const serviceNamespace = own(annotations, SERVICE_NAMESPACE) || namespace;
  if (serviceNamespace) attrs.push(`service.namespace=${serviceNamespace}`);

  let version = own(annotations, SERVICE_VERSION) || own(labels, VERSION_LABEL);
  if (!version && containers.length === 1) version = imageVersion(String(containers[0]!.image ?? ''));
  if (version) attrs.push(`service.version=${version}`);

  const instanceId = own(annotations, SERVICE_INSTANCE_ID);
  if (instanceId) attrs.push(`service.instance.id=${instanceId}`);
  else if (containers.length > 0) attrs.push(`service.instance.id=${namespace}.$(POD_NAME).${String(containers[0]!.name ?? '')}`);

  return attrs.join(',');
}
