/** Test helpers: build AdmissionReviews, post them over CA-verified HTTPS, apply the returned JSON Patch. */
import jsonpatch from 'fast-json-patch';
import type { Container, Pod } from '../../src/k8s/types.js';
import type { WebhookClient } from '../helpers/https.js';

let uidCounter = 0;

export function podReview(pod: Pod, namespace = 'default', apiVersion = 'admission.k8s.io/v1') {
  uidCounter += 1;
  return {
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${uidCounter}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      object: pod,
    },
  };
}

export interface Admission {
  allowed: boolean;
  message?: string;
  audit?: string;
  patch?: jsonpatch.Operation[];
  /** The request's pod with the patch applied (the pod itself when there is no patch). */
  pod: Pod;
}

/** Posts the pod to /inject and returns the answer with the patch applied to a copy of the pod. */
export async function admitPod(server: WebhookClient, pod: Pod, namespace = 'default', path = '/inject'): Promise<Admission> {
  const review = podReview(pod, namespace);
  const res = await server.postJson(path, review);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
  const body = res.json as {
    response: {
      uid: string;
      allowed: boolean;
      patch?: string;
      patchType?: string;
      status?: { message?: string };
      auditAnnotations?: Record<string, string>;
    };
  };
  if (body.response.uid !== review.request.uid) throw new Error('response uid does not match the request uid');
  const ops = body.response.patch ? (JSON.parse(Buffer.from(body.response.patch, 'base64').toString('utf8')) as jsonpatch.Operation[]) : undefined;
  if (ops && body.response.patchType !== 'JSONPatch') throw new Error(`patchType ${body.response.patchType}`);
  const copy = structuredClone(pod);
  const patched = ops ? (jsonpatch.applyPatch(copy, ops, true, true).newDocument as Pod) : copy;
  return {
    allowed: body.response.allowed,
    message: body.response.status?.message,
    audit: body.response.auditAnnotations?.['mesh-webhook/injection'],
    patch: ops,
    pod: patched,
  };
}

export function appPod(overrides: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Partial<Pod['spec']> } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: overrides.name ?? 'app',
      labels: { app: 'app', ...overrides.labels },
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
    },
    spec: {
      containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 8080 }] }],
      ...overrides.spec,
    },
  };
}

export function container(pod: Pod, name: string): Container | undefined {
  return pod.spec?.containers?.find((c) => c.name === name) ?? pod.spec?.initContainers?.find((c) => c.name === name);
}

export function env(c: Container | undefined, name: string): string | undefined {
  return c?.env?.find((e) => e.name === name)?.value;
}
