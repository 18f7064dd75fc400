/**
 * What the API server does with MutatingWebhookConfigurations when a Pod is created, for the Kubernetes API test
 * double (fakeApiServer.ts, `admitPods`): each webhook whose rules, namespaceSelector and objectSelector match is
 * called over HTTPS at its Service (resolved to a loopback port, as the Service's endpoints would be; no endpoint:
 * the call fails), verified against `clientConfig.caBundle` for the name `<service>.<namespace>.svc`, within
 * `timeoutSeconds`; an answer that allows applies its JSON Patch, one that denies refuses the pod; a call that fails
 * follows `failurePolicy` (absent: Fail, the v1 default): Ignore goes on without it, Fail refuses the pod with the
 * API server's "failed calling webhook" error. Configurations in name order, webhooks in their order.
 *
 * Not emulated: reinvocation, matchConditions, url clientConfigs other than https loopback, validating webhooks.
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import jsonpatch from 'fast-json-patch';

type Labels = Record<string, string>;
interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Webhook {
  name: string;
  clientConfig?: { service?: { name: string; namespace: string; path?: string; port?: number }; url?: string; caBundle?: string };
  rules?: { operations?: string[]; apiGroups?: string[]; apiVersions?: string[]; resources?: string[] }[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  failurePolicy?: string;
  timeoutSeconds?: number;
}
export interface WebhookConfiguration {
  metadata: { name: string };
  webhooks?: Webhook[];
}

export interface WebhookCall {
  webhook: string;
  outcome: 'patched' | 'allowed' | 'denied' | 'ignored-failure' | 'failed';
  detail?: string;
}

/** The refusal the API server answers with (Status code, reason, message). */
export class AdmissionRefusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(value!)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(value!)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

const any = (list: string[] | undefined, value: string) => (list ?? []).some((x) => x === '*' || x === value);

function matchesPodCreate(w: Webhook): boolean {
  return (w.rules ?? []).some((r) => any(r.operations, 'CREATE') && any(r.apiGroups, '') && any(r.apiVersions, 'v1') && any(r.resources, 'pods'));
}

/** POST the AdmissionReview to the webhook; resolves with its `response` or rejects with why the call failed. */
function call(w: Webhook, port: number | undefined, review: unknown): Promise<{ allowed?: boolean; patch?: string; status?: { code?: number; message?: string } }> {
  const service = w.clientConfig?.service;
  if (!service) return Promise.reject(new Error('only service clientConfigs are emulated'));
  if (port === undefined) return Promise.reject(new Error(`no endpoints available for service "${service.name}"`));
  const timeoutSeconds = w.timeoutSeconds ?? 10;
  const ca = w.clientConfig?.caBundle ? Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8') : undefined;
  const body = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `${service.path ?? '/'}?timeout=${timeoutSeconds}s`,
        servername: `${service.name}.${service.namespace}.svc`,
        // No caBundle: the system roots, which trust no webhook's own CA (the call fails as in a cluster).
        ...(ca !== undefined ? { ca } : {}),
        agent: false,
        timeout: timeoutSeconds * 1000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: object };
            if (res.statusCode !== 200 || !parsed.response) reject(new Error(`the webhook answered HTTP ${res.statusCode}`));
            else resolve(parsed.response);
          } catch (err) {
            reject(new Error(`the webhook's answer is not an AdmissionReview: ${(err as Error).message}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (${timeoutSeconds}s)`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Runs the mutating webhooks of `configurations` on a Pod being created in `namespace`; returns the pod as they left
 * it and what each call did, or throws an {@link AdmissionRefusal}.
 */
export async function admitPodCreate<P extends { metadata: { labels?: Labels } }>(params: {
  configurations: WebhookConfiguration[];
  namespace: string;
  namespaceLabels: Labels;
  pod: P;
  /** Port serving `namespace/name` on 127.0.0.1, or undefined when the Service has no ready endpoint. */
  endpoint: (namespace: string, name: string) => number | undefined;
}): Promise<{ pod: P; calls: WebhookCall[] }> {
  let pod = params.pod;
  const calls: WebhookCall[] = [];
  const ordered = [...params.configurations].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const config of ordered) {
    for (const w of config.webhooks ?? []) {
      if (!matchesPodCreate(w)) continue;
      if (!selectorMatches(w.namespaceSelector, params.namespaceLabels)) continue;
      if (!selectorMatches(w.objectSelector, pod.metadata.labels ?? {})) continue;
      const service = w.clientConfig?.service;
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: randomUUID(),
          kind: { group: '', version: 'v1', kind: 'Pod' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          requestKind: { group: '', version: 'v1', kind: 'Pod' },
          requestResource: { group: '', version: 'v1', resource: 'pods' },
          namespace: params.namespace,
          operation: 'CREATE',
          userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
          object: pod,
          dryRun: false,
          options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
        },
      };
      let response: Awaited<ReturnType<typeof call>>;
      try {
        response = await call(w, service ? params.endpoint(service.namespace, service.name) : undefined, review);
      } catch (err) {
        const detail = (err as Error).message;
        if (w.failurePolicy === 'Ignore') {
          calls.push({ webhook: w.name, outcome: 'ignored-failure', detail });
          continue;
        }
        calls.push({ webhook: w.name, outcome: 'failed', detail });
        const where = service ? `https://${service.name}.${service.namespace}.svc:${service.port ?? 443}${service.path ?? ''}` : '';
        throw new AdmissionRefusal(500, 'InternalError', `Internal error occurred: failed calling webhook "${w.name}": failed to call webhook: Post "${where}?timeout=${w.timeoutSeconds ?? 10}s": ${detail}`);
      }
      if (response.allowed !== true) {
        calls.push({ webhook: w.name, outcome: 'denied', detail: response.status?.message ?? '' });
        throw new AdmissionRefusal(response.status?.code ?? 400, 'BadRequest', `admission webhook "${w.name}" denied the request: ${response.status?.message ?? ''}`);
      }
      if (response.patch) {
        const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as jsonpatch.Operation[];
        pod = jsonpatch.applyPatch(structuredClone(pod), ops, true, false).newDocument;
        calls.push({ webhook: w.name, outcome: 'patched' });
      } else {
        calls.push({ webhook: w.name, outcome: 'allowed' });
      }
    }
  }
  return { pod, calls };
}
