/**
 * The images of istio-proxy and istio-init, Istio's ProxyImage / ProxyInitImage (pkg/kube/inject/inject.go):
 * `<hub>/<name>:<tag>` with the image type applied to the tag. The proxy's image type is ProxyConfig `image.imageType`,
 * else `values.global.variant`; istio-init's is the variant only (ProxyConfig's image type is the proxy's). The
 * `sidecar.istio.io/proxyImageType` annotation, when present (even empty), overrides both. A name with a `/` is a
 * whole image reference and is used as it is.
 */
import type { Settings } from './settings.js';

/** Image types Istio publishes, whose `-<type>` suffix a tag may already carry. */
const KNOWN_IMAGE_TYPES = ['distroless', 'debug'];

/**
 * Istio's updateImageTypeIfPresent: no type keeps the tag; otherwise a known type's suffix is removed from the tag and
 * `-<type>` appended, except for `default`, which is the bare tag.
 */
export function applyImageType(tag: string, imageType: string): string {
  if (imageType === '') return tag;
  let bare = tag;
  for (const known of KNOWN_IMAGE_TYPES) {
    if (bare.endsWith(`-${known}`)) {
      bare = bare.slice(0, -(known.length + 1));
      break;
    }
  }
  return imageType === 'default' ? bare : `${bare}-${imageType}`;
}

/**
 * An injected container's image. `proxyConfigType` is ProxyConfig's `image.imageType` for istio-proxy and undefined
 * for istio-init; `annotationType` is the pod's `sidecar.istio.io/proxyImageType` (undefined when absent).
 */
export function sidecarImage(s: Settings, name: string, proxyConfigType: string | undefined, annotationType: string | undefined): string {
  if (name.includes('/')) return name;
  let imageType = proxyConfigType || s.variant;
  if (annotationType !== undefined) imageType = annotationType;
  return `${s.hub}/${name}:${applyImageType(s.tag, imageType)}`;
}
