/**
 * Which configuration fields hold text, so that a value written for one keeps its text: `--set values.global.tag=1.30`
 * is the tag `1.30`, not the number 1.3 (and a YAML file's `tag: 1.30` is refused with the quoting that keeps it).
 * A field is text when its current value (profile, earlier sources) is a string, or when its path is one of the
 * text fields below, which a profile may leave unset.
 */

/** Text fields by path; `*` is any one key. */
const TEXT_FIELDS: readonly string[] = [
  // Images: hub, tag (a version), names, variant, pull policy.
  'values.global.hub',
  'values.global.tag',
  'values.global.variant',
  'values.global.imagePullPolicy',
  'values.global.proxy.image',
  'values.global.proxy_init.image',
  'meshConfig.defaultConfig.image.imageType',
  // Resource quantities (`0.50`, `1e3` are quantities as written).
  'values.global.proxy.resources.requests.*',
  'values.global.proxy.resources.limits.*',
  'values.global.proxy_init.resources.requests.*',
  'values.global.proxy_init.resources.limits.*',
  // Names, domains, addresses and lists the template copies as text.
  'values.revision',
  'servedRevision',
  'values.global.meshID',
  'values.global.network',
  'values.global.trustDomain',
  'values.global.multiCluster.clusterName',
  'values.global.istioNamespace',
  'values.global.caAddress',
  'values.global.pilotCertProvider',
  'values.global.logging.level',
  'values.global.sds.token.aud',
  'values.global.proxy.clusterDomain',
  'values.global.proxy.logLevel',
  'values.global.proxy.componentLogLevel',
  'values.global.proxy.tracer',
  'values.global.proxy.outlierLogPath',
  'values.global.proxy.includeIPRanges',
  'values.global.proxy.excludeIPRanges',
  'values.global.proxy.includeInboundPorts',
  'values.global.proxy.excludeInboundPorts',
  'values.global.proxy.includeOutboundPorts',
  'values.global.proxy.excludeOutboundPorts',
  'values.pilot.cni.provider',
  'values.pilot.env.*',
  'meshConfig.trustDomain',
  // Maps of string to string.
  'meshConfig.defaultConfig.proxyMetadata.*',
  'injectedAnnotations.*',
  'values.sidecarInjectorWebhook.injectedAnnotations.*',
  'namespaceLabels.*.*',
];

const PATTERNS = TEXT_FIELDS.map((p) => p.split('.'));

/** Whether the field at `path` holds text: `current` (its value so far) is a string, or the path is a text field. */
export function isTextField(path: readonly string[], current: unknown): boolean {
  if (typeof current === 'string') return true;
  return PATTERNS.some((pattern) => pattern.length === path.length && pattern.every((seg, i) => seg === '*' || seg === path[i]));
}

/** The value at `path` in `root` (undefined when a step is missing or not a map). */
export function valueAt(root: unknown, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
