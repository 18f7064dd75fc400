/** Small tests and coercions for parsed JSON/YAML values (untyped input: AdmissionReviews, manifests, configuration). */
import type { JsonObject } from '../k8s/types.js';

/** A map: an object that is neither null nor a list. */
export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value when it is a string, else the empty string. */
export function asString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
