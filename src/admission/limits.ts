/**
 * Caps on what makes one admission expensive, checked on the parsed object before any decision, injection,
 * validation or explanation runs. A request within the body limit can still carry hundreds of thousands of labels
 * (the API server calls mutating webhooks before it validates the object or checks its size against etcd): without
 * these caps one such request cost seconds of event loop and, in a 256 MiB container, the process. Each check is a
 * count with an early exit, so an ordinary pod costs a few hundred nanoseconds here.
 *
 * The defaults are far above what real pods carry, so that no workload the API server would store is refused for
 * them: the annotation size is Kubernetes' own limit (the API server refuses more after admission anyway), the counts
 * are several times what the largest pods seen in practice have. An operator can lower or raise them (configuration
 * key `limits`, any subset of the keys).
 */
import type { AdmissionLimits } from '../config/types.js';
import { isPlainObject } from '../util/json.js';
import { podTemplateShape } from '../workloads/kinds.js';

export type { AdmissionLimits };

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = Object.freeze({
  labels: 1024,
  annotations: 1024,
  annotationBytes: 256 * 1024,
  containers: 256,
  env: 8192,
  ports: 2048,
  volumes: 1024,
  volumeMounts: 4096,
  // A pod at every count cap above is about 100,000 tokens; a 6 MiB body of small keys about 900,000.
  jsonTokens: 262_144,
});

/** The token limit of an endpoint's body: /validate takes twice (an UPDATE carries the object and the old object). */
export function tokenLimit(limits: AdmissionLimits, endpoint: 'inject' | 'validate' | 'explain'): number {
  return endpoint === 'validate' ? 2 * limits.jsonTokens : limits.jsonTokens;
}


/** One limit exceeded: where, what and by how much. */
export interface LimitProblem {
  limit: keyof AdmissionLimits;
  /** Field path from the object root, e.g. `spec.template.metadata.labels`. */
  path: string;
  /** What was counted: exact for lists; for maps and bytes, counting stops once past the limit. */
  count: number;
  /** Whether `count` is the whole count (lists) or where counting stopped (maps, annotation bytes). */
  exact: boolean;
  max: number;
}

type Obj = Record<string, unknown>;
const join = (base: string, key: string) => (base ? `${base}.${key}` : key);

/** Own enumerable keys of a map, counted up to `stop`. */
function countKeys(map: Obj, stop: number): number {
  let n = 0;
  for (const key in map) {
    if (!Object.hasOwn(map, key)) continue;
    if (++n >= stop) break;
  }
  return n;
}

function lengthOf(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

function metadataProblem(meta: unknown, path: string, limits: AdmissionLimits): LimitProblem | undefined {
  if (!isPlainObject(meta)) return undefined;
  const labels = meta['labels'];
  if (isPlainObject(labels)) {
    const n = countKeys(labels, limits.labels + 1);
    if (n > limits.labels) return { limit: 'labels', path: join(path, 'labels'), count: n, exact: false, max: limits.labels };
  }
  const annotations = meta['annotations'];
  if (isPlainObject(annotations)) {
    const n = countKeys(annotations, limits.annotations + 1);
    if (n > limits.annotations) return { limit: 'annotations', path: join(path, 'annotations'), count: n, exact: false, max: limits.annotations };
    let bytes = 0;
    for (const key in annotations) {
      if (!Object.hasOwn(annotations, key)) continue;
      const value = annotations[key];
      bytes += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
      if (bytes > limits.annotationBytes) {
        return { limit: 'annotationBytes', path: join(path, 'annotations'), count: bytes, exact: false, max: limits.annotationBytes };
      }
    }
  }
  return undefined;
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

function podSpecProblem(spec: unknown, path: string, limits: AdmissionLimits): LimitProblem | undefined {
  if (!isPlainObject(spec)) return undefined;
  const at = (key: string) => join(path, key);
  let containers = 0;
  for (const list of CONTAINER_LISTS) containers += lengthOf(spec[list]);
  if (containers > limits.containers) return { limit: 'containers', path, count: containers, exact: true, max: limits.containers };
  const volumes = lengthOf(spec['volumes']);
  if (volumes > limits.volumes) return { limit: 'volumes', path: at('volumes'), count: volumes, exact: true, max: limits.volumes };
  let env = 0;
  let ports = 0;
  let mounts = 0;
  for (const list of CONTAINER_LISTS) {
    const items = spec[list];
    if (!Array.isArray(items)) continue;
    for (const c of items) {
      if (!isPlainObject(c)) continue;
      env += lengthOf(c['env']) + lengthOf(c['envFrom']);
      ports += lengthOf(c['ports']);
      mounts += lengthOf(c['volumeMounts']);
    }
  }
  if (env > limits.env) return { limit: 'env', path, count: env, exact: true, max: limits.env };
  if (ports > limits.ports) return { limit: 'ports', path, count: ports, exact: true, max: limits.ports };
  if (mounts > limits.volumeMounts) return { limit: 'volumeMounts', path, count: mounts, exact: true, max: limits.volumeMounts };
  return undefined;
}

function at(root: Obj, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const key of path) cur = isPlainObject(cur) ? cur[key] : undefined;
  return cur;
}

/**
 * The first limit `object` exceeds, or undefined. Checked: the object's metadata and, for a Pod or a workload with a
 * pod template (Deployment, Job, CronJob, ...), the template's metadata and pod spec. A bare pod (no kind, as the
 * webhook may see one) counts as a Pod. Anything else that is not a JSON object has nothing to count.
 */
export function limitProblem(object: unknown, limits: AdmissionLimits = DEFAULT_ADMISSION_LIMITS): LimitProblem | undefined {
  if (!isPlainObject(object)) return undefined;
  const own = metadataProblem(object['metadata'], 'metadata', limits);
  if (own) return own;
  const apiVersion = typeof object['apiVersion'] === 'string' ? object['apiVersion'] : 'v1';
  const kind = typeof object['kind'] === 'string' ? object['kind'] : 'Pod';
  const shape = podTemplateShape(apiVersion, kind);
  if (!shape) return undefined;
  if (shape.template.length === 0) return podSpecProblem(object['spec'], 'spec', limits);
  const base = shape.template.join('.');
  if (shape.metadataOwner) {
    const owner = metadataProblem(at(object, [...shape.metadataOwner, 'metadata']), `${shape.metadataOwner.join('.')}.metadata`, limits);
    if (owner) return owner;
  }
  const template = at(object, shape.template);
  if (!isPlainObject(template)) return undefined;
  return metadataProblem(template['metadata'], `${base}.metadata`, limits) ?? podSpecProblem(template['spec'], `${base}.spec`, limits);
}

const WHAT: Record<keyof AdmissionLimits, string> = {
  labels: 'labels',
  annotations: 'annotations',
  annotationBytes: 'bytes of annotations',
  containers: 'containers (containers, initContainers and ephemeralContainers)',
  env: 'environment entries (env and envFrom of all containers)',
  ports: 'container ports (all containers)',
  volumes: 'volumes',
  volumeMounts: 'volume mounts (all containers)',
  jsonTokens: 'JSON tokens ({, [, : and , outside strings: about one per value)',
};

/** One line for the answer and the log: what, where, the limit, the setting that raises it. */
export function describeLimitProblem(p: LimitProblem): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const count = p.exact ? n(p.count) : `more than ${n(p.max)}`;
  return `${p.path} has ${count} ${WHAT[p.limit]}; the limit is ${n(p.max)} (setting limits.${p.limit}): remove some, or ask the operator to raise the limit`;
}
