/**
 * The validating rules on a manifest stream, without a cluster (`mesh-webhook validate`): each object in its own
 * namespace, with the labels the stream's Namespace objects give their namespaces (over config `namespaceLabels`), as
 * they would be in the cluster once applied (src/cli/validate.ts reads the stream twice for them). The text and JSON
 * output: src/validate/format.ts.
 */
import type { InjectorConfig } from '../config/types.js';
import { isPlainObject } from '../util/json.js';
import { ManifestError } from '../workloads/kubeInject.js';
import type { ManifestObject } from '../workloads/manifests.js';
import type { Finding } from './findings.js';
import { createValidator } from './index.js';

export interface ManifestValidation {
  /** Every finding, in input order. */
  findings: Finding[];
  /** How many objects were checked (List items counted one by one). */
  objects: number;
}

/**
 * The findings of one object of a stream, with the labels the stream's Namespace objects give their namespaces
 * (`namespaceLabels`, from namespaceLabelsIn over the whole stream: a Namespace may come after the objects in it).
 * An object whose shape the rules cannot read is a {@link ManifestError} naming it.
 */
export function manifestValidator(config: InjectorConfig, namespaceLabels: Record<string, Record<string, string>>): (object: ManifestObject) => Finding[] {
  const effective = Object.keys(namespaceLabels).length > 0 ? { ...config, namespaceLabels: { ...config.namespaceLabels, ...namespaceLabels } } : config;
  const validator = createValidator(effective);
  return ({ object, document, where }) => {
    try {
      return validator.validate(object);
    } catch (err) {
      // A shape the rules cannot read (the API server's schema validation would have refused it): name the object.
      const meta = isPlainObject(object.metadata) ? object.metadata : {};
      const name = [meta.namespace, meta.name].filter((v) => typeof v === 'string' && v !== '').join('/');
      throw new ManifestError(document, `${where} (${String(object.kind)} "${name}"): cannot validate: ${(err as Error).message}`);
    }
  };
}
