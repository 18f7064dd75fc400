/**
 * Hostile AdmissionReviews for the fuzz test: fast-check arbitraries that start from realistic reviews (a Deployment's
 * pod with probes, env, volumes, ports, annotations; a Deployment; a Namespace; a Service) and break them: fields
 * deleted, values replaced by wrong types, huge or odd strings (NUL, lone surrogates, RTL marks, emoji), injection
 * annotations with arbitrary values, random labels; plus raw bodies that are not AdmissionReviews at all (random JSON,
 * random text, truncated and byte-flipped JSON). Every case says which endpoint and query it goes to.
 */
import fc from 'fast-check';
import { sampleAdmissionReview, samplePod } from '../../src/admission/sample.js';
import { A } from '../../src/inject/annotations.js';
import type { Pod } from '../../src/k8s/types.js';

export interface FuzzCase {
  /** Where it goes: `/inject`, `/validate`, with path parameters and `?timeout=`. */
  path: string;
  /** The request body as sent. */
  body: string;
  /** The uid in the body, when the body is a JSON object with request.uid (checked against the answer). */
  uid?: string;
  /** The request's apiVersion, when valid. */
  apiVersion?: string;
  /** The object, when the body is a review whose object can be patched (to apply the answer's patch). */
  object?: unknown;
  /** How the case was made (for the failure message). */
  origin: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A pod with most of what the injector reads. */
export function richPod(): Pod {
  const pod = samplePod();
  pod.metadata = {
    ...pod.metadata,
    annotations: {
      'sidecar.istio.io/proxyCPU': '100m',
      'traffic.sidecar.istio.io/excludeOutboundPorts': '5432',
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9090',
      'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n',
    },
  };
  const spec = pod.spec!;
  spec.initContainers = [{ name: 'migrate', image: 'busybox:1.36', command: ['sh', '-c', 'true'] }];
  spec.containers = [
    {
      ...spec.containers![0]!,
      env: [{ name: 'A', value: 'b' }, { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      livenessProbe: { tcpSocket: { port: 'http' }, initialDelaySeconds: 3 },
      startupProbe: { grpc: { port: 9000 } },
      lifecycle: { preStop: { httpGet: { path: '/stop', port: 8080 } } },
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      securityContext: { runAsUser: 1000, allowPrivilegeEscalation: false },
    },
    { name: 'worker', image: 'worker:1', ports: [{ containerPort: 9090, name: 'metrics' }] },
  ];
  spec.volumes = [{ name: 'data', emptyDir: {} }];
  spec.securityContext = { fsGroup: 2000 };
  return pod;
}

const BASES: { name: string; review: () => Record<string, Json> }[] = [
  { name: 'sample pod', review: () => sampleAdmissionReview() as unknown as Record<string, Json> },
  { name: 'rich pod', review: () => sampleAdmissionReview({ pod: richPod() }) as unknown as Record<string, Json> },
  { name: 'rich pod v1beta1', review: () => sampleAdmissionReview({ pod: richPod(), apiVersion: 'admission.k8s.io/v1beta1' }) as unknown as Record<string, Json> },
  {
    name: 'deployment',
    review: () => {
      const r = sampleAdmissionReview() as unknown as { request: Record<string, Json> };
      r.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
      r.request.object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2, template: richPod() as unknown as Json } };
      return r as unknown as Record<string, Json>;
    },
  },
  {
    name: 'namespace',
    review: () => {
      const r = sampleAdmissionReview() as unknown as { request: Record<string, Json> };
      r.request.kind = { group: '', version: 'v1', kind: 'Namespace' };
      r.request.object = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', labels: { 'istio-injection': 'enabled', 'mesh-webhook.kyma-project.io/validation-mode': 'enforce' } } };
      return r as unknown as Record<string, Json>;
    },
  },
  {
    name: 'service',
    review: () => {
      const r = sampleAdmissionReview() as unknown as { request: Record<string, Json> };
      r.request.kind = { group: '', version: 'v1', kind: 'Service' };
      r.request.object = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80, name: 'web', targetPort: 'http' }] } };
      return r as unknown as Record<string, Json>;
    },
  },
];

/** Every path (list of keys/indexes) in a JSON value, parents before children. */
function pathsOf(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(value)) value.forEach((v, i) => (out.push([...prefix, i]), pathsOf(v, [...prefix, i], out)));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push([...prefix, k]), pathsOf(v, [...prefix, k], out);
  return out;
}
const BASE_PATHS = BASES.map((b) => pathsOf(b.review()));

/** Odd strings: empty, whitespace, NUL and control characters, lone surrogates, bidi marks, emoji, long. */
const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\u0000\u0001\u001f', '\ud800', '\udfff\ud800', '\u202e\u2066', '👩‍👩‍👧‍👦', 'null', 'true', '0', '-1', '1e309', 'NaN', '__proto__', 'constructor', '${}', '%s%n', '../../etc/passwd', '*', ',', '::', '[', '{', '"'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.nat({ max: 200_000 }).map((n) => 'x'.repeat(n)),
);

/** Values of any JSON type, odd ones favoured. */
const weird: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -(2 ** 31), 1e308, [], {}, [null], { '': null }, [[[]]]) },
  { weight: 3, arbitrary: oddString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.array(fc.constantFrom<Json>(null, 1, 'a', {}, []), { maxLength: 50 }) },
);

/** Values for injection annotations: plausible ones and broken ones. */
const annotationValue: fc.Arbitrary<string> = fc.oneof(
  oddString,
  fc.constantFrom('true', 'false', 'yes', 'REDIRECT', 'TPROXY', 'NONE', 'bogus', '*', '10.0.0.0/8,192.168.0.0/16', '10.0.0.0/33', '::/0', '80,443', '0', '65536', '8080, 9090 ', '100m', '1Gi', '-1', '1e3', '0.5', 'eth0,eth1', 'a/b', 'debug', 'distroless', 'sidecar', 'gateway,sidecar'),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('holdApplicationUntilProxyStarts: yes', 'proxyMetadata: [1, 2]', 'concurrency: -1', 'tracing: {zipkin: {address: x}}', 'a: &a [*a]', '---\na: 1\n---\nb: 2', '{', 'drainDuration: 5s', 'statusPort: 99999'),
);

const ANNOTATION_KEYS = [...new Set(Object.values(A))];

type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'replace'; at: number; value: Json }
  | { op: 'annotate'; key: string; value: string }
  | { op: 'label'; key: string; value: Json };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: weird }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('annotate' as const), key: fc.oneof(fc.constantFrom(...ANNOTATION_KEYS), fc.string({ maxLength: 30 })), value: annotationValue }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('label' as const),
      key: fc.constantFrom('sidecar.istio.io/inject', 'istio.io/rev', 'app', 'version', 'security.istio.io/tlsMode', 'topology.istio.io/network', 'service.istio.io/canonical-name'),
      value: fc.oneof(oddString as fc.Arbitrary<Json>, fc.constantFrom<Json>('true', 'false', null, 1, {})),
    }),
  },
);

function setAt(root: Json, path: (string | number)[], f: (parent: Record<string, Json> | Json[], key: string | number) => void): void {
  let node: Json = root;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string, Json>)[key as string] as Json;
  }
  if (node !== null && typeof node === 'object') f(node as Record<string, Json>, path[path.length - 1] as string | number);
}

/** The object's metadata.annotations (or its pod template's), created when missing. */
function metadataMap(review: Record<string, Json>, field: 'annotations' | 'labels'): Record<string, Json> | undefined {
  const object = (review.request as Record<string, Json> | null)?.object as Record<string, Json> | undefined;
  if (!object || typeof object !== 'object' || Array.isArray(object)) return undefined;
  const template = (object.spec as Record<string, Json> | undefined)?.template as Record<string, Json> | undefined;
  const target = template && typeof template === 'object' && !Array.isArray(template) ? template : object;
  let meta = target.metadata as Record<string, Json> | undefined;
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) target.metadata = meta = {};
  let map = meta[field] as Record<string, Json> | undefined;
  if (!map || typeof map !== 'object' || Array.isArray(map)) meta[field] = map = {};
  return map;
}

const ENDPOINTS = ['/inject', '/validate', '/inject/cluster/c1/net/n1', '/inject/:ENV:cluster=c1:ENV:net=n1', '/validate/'];
const QUERIES = ['', '', '', '?timeout=10s', '?timeout=30s', '?timeout=bogus', '?timeout=-5s', '?timeout=1ns', '?timeout=1m&timeout=2s'];

/** A realistic review broken by 1-6 mutations. */
export const mutatedReview: fc.Arbitrary<FuzzCase> = fc
  .record({
    base: fc.nat({ max: BASES.length - 1 }),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }),
    endpoint: fc.constantFrom(...ENDPOINTS),
    query: fc.constantFrom(...QUERIES),
    uid: fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 20 })),
  })
  .map(({ base, mutations, endpoint, query, uid }) => {
    const b = BASES[base]!;
    const review = b.review();
    (review.request as Record<string, Json>).uid = uid;
    const paths = BASE_PATHS[base]!;
    for (const m of mutations) {
      if (m.op === 'annotate') {
        const map = metadataMap(review, 'annotations');
        if (map) map[m.key] = m.value;
      } else if (m.op === 'label') {
        const map = metadataMap(review, 'labels');
        if (map) map[m.key] = m.value;
      } else {
        const path = paths[m.at % paths.length]!;
        setAt(review, path, (parent, key) => {
          if (m.op === 'delete') {
            if (Array.isArray(parent)) parent.splice(key as number, 1);
            else delete parent[key as string];
          } else (parent as Record<string | number, Json>)[key] = m.value;
        });
      }
    }
    const request = review.request as Record<string, Json> | null;
    const validUid = request && typeof request === 'object' && typeof request.uid === 'string' ? request.uid : undefined;
    const apiVersion = typeof review.apiVersion === 'string' ? review.apiVersion : undefined;
    return {
      path: `${endpoint}${query}`,
      body: JSON.stringify(review),
      ...(validUid !== undefined ? { uid: validUid } : {}),
      ...(apiVersion !== undefined ? { apiVersion } : {}),
      ...(request && typeof request === 'object' ? { object: request.object } : {}),
      origin: `${b.name} + ${mutations.map((m) => m.op).join(',')}`,
    };
  });

/** Bodies that are not AdmissionReviews: any JSON, any text, broken JSON. */
export const rawBody: fc.Arbitrary<FuzzCase> = fc
  .record({
    kind: fc.constantFrom('json', 'text', 'truncated', 'flipped'),
    json: fc.jsonValue({ maxDepth: 5 }),
    text: fc.string({ unit: 'binary', maxLength: 200 }),
    cut: fc.nat(),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 127 })), { minLength: 1, maxLength: 5 }),
    endpoint: fc.constantFrom(...ENDPOINTS),
  })
  .map(({ kind, json, text, cut, flips, endpoint }) => {
    const valid = JSON.stringify(sampleAdmissionReview());
    let body: string;
    if (kind === 'json') body = JSON.stringify(json) ?? 'null';
    else if (kind === 'text') body = text;
    else if (kind === 'truncated') body = valid.slice(0, cut % valid.length);
    else {
      const chars = [...valid];
      for (const [at, code] of flips) chars[at % chars.length] = String.fromCharCode(code);
      body = chars.join('');
    }
    return { path: endpoint, body, origin: `raw ${kind}` };
  });

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof({ weight: 4, arbitrary: mutatedReview }, { weight: 1, arbitrary: rawBody });
