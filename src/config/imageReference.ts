/**
 * The sidecar images a configuration composes must be well-formed image references, or every injected pod would fail
 * to pull (e.g. `--set values.global.hub=` gives `/proxyv2:<tag>`). The grammar is the Docker/OCI reference grammar
 * (github.com/distribution/reference): `[domain[:port]/]path[:tag][@digest]`. The images are composed as Istio does
 * (src/inject/images.ts): `<hub>/<image>:<tag with the image type>`, or the image as it is when it contains a `/`.
 */
import type { JsonObject } from '../k8s/types.js';
import { applyImageType } from '../inject/images.js';
import { isPlainObject } from '../util/json.js';
import { show } from './validate.js';
import { ConfigError } from './types.js';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
/**
 * A path component. The grammar allows lowercase only; upper case is tolerated here because Istio renders it and its
 * own injection tests use the image name `proxyTest` (test/fixtures/istio, case proxyImageName).
 */
const PATH_COMPONENT = '[a-zA-Z0-9]+(?:(?:[._]|__|-+)[a-zA-Z0-9]+)*';
const PATH = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
/** sha256 and sha512 digests are lowercase hex of their length; other algorithms follow the general grammar. */
const DIGEST = '(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}|(?!sha256:|sha512:)[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})';
/** Longest repository name (domain and path) the grammar allows. */
const NAME_MAX = 255;

const NAME_RE = new RegExp(`^(?:${DOMAIN}/)?${PATH}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${PATH})(?::${TAG})?(?:@${DIGEST})?$`);

const EXPECTED = {
  hub: 'a registry and repository path such as docker.io/istio or registry.example:5000/istio (path components of letters and digits joined by . _ or -, separated by /)',
  name: 'an image name such as proxyv2 (letters and digits joined by . _ or -), or a whole reference containing a /',
  reference: 'a whole image reference [registry[:port]/]path[:tag][@sha256:<64 hex digits>], e.g. docker.io/istio/proxyv2:1.30.2',
  tag: 'a tag of letters, digits, _ . and - (starting with a letter, digit or _; at most 128 characters), e.g. 1.30.2-distroless',
} as const;

/** Whether `ref` is a well-formed image reference. */
export function isImageReference(ref: string): boolean {
  const m = REFERENCE_RE.exec(ref);
  return m !== null && (m[1] ?? '').length <= NAME_MAX;
}

function refuse(path: string, value: unknown, expected: string): never {
  throw new ConfigError(path, `must be ${expected}; got ${show(value)}`);
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Checks istio-proxy's and istio-init's images as the template composes them, naming the key at fault: the hub, the
 * image name, the tag (with the variant or ProxyConfig's image type applied) or the image given as a whole reference.
 */
export function checkSidecarImages(values: JsonObject, meshConfig: JsonObject): void {
  const global = isPlainObject(values.global) ? values.global : {};
  const proxy = isPlainObject(global.proxy) ? global.proxy : {};
  const proxyInit = isPlainObject(global.proxy_init) ? global.proxy_init : {};
  const defaultConfig = isPlainObject(meshConfig.defaultConfig) ? meshConfig.defaultConfig : {};
  const proxyImageType = isPlainObject(defaultConfig.image) ? text(defaultConfig.image.imageType) : undefined;
  const variant = text(global.variant) ?? '';
  checkImage(global, text(proxy.image) ?? 'proxyv2', 'values.global.proxy.image', proxyImageType || variant);
  checkImage(global, text(proxyInit.image) ?? 'proxyv2', 'values.global.proxy_init.image', variant);
}

function checkImage(global: JsonObject, name: string, namePath: string, imageType: string): void {
  if (name.includes('/')) {
    if (!isImageReference(name)) refuse(namePath, name, EXPECTED.reference);
    return;
  }
  const hub = text(global.hub) ?? '';
  if (!NAME_RE.test(`${hub}/x`)) refuse('values.global.hub', hub, EXPECTED.hub);
  if (!NAME_RE.test(name)) refuse(namePath, name, EXPECTED.name);
  const tag = text(global.tag) ?? '';
  if (!TAG_RE.test(tag)) refuse('values.global.tag', tag, EXPECTED.tag);
  const typed = applyImageType(tag, imageType);
  if (!TAG_RE.test(typed)) {
    const typePath = imageType === (text(global.variant) ?? '') ? 'values.global.variant' : 'meshConfig.defaultConfig.image.imageType';
    throw new ConfigError(typePath, `${show(imageType)} makes the tag ${show(typed)}, which is not ${EXPECTED.tag}`);
  }
  const composed = `${hub}/${name}:${typed}`;
  if (!isImageReference(composed)) {
    throw new ConfigError(namePath, `makes the image ${show(composed)}, which is not ${EXPECTED.reference} (the repository name is at most ${NAME_MAX} characters)`);
  }
}
