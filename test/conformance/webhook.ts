/**
 * Webhook side of the conformance suite: one real HTTPS server (src/server via test/helpers/https.ts
 * `startTestServer`) per distinct case configuration, each with `createRuntime(loadConfig(...))`, dev certificates
 * from src/tls, and the helper's CA-verified HTTPS client.
 */
import { randomUUID } from 'node:crypto';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { configKey, loadConfigOptions, readTestdata, type ConformanceCase } from './cases.js';
import { isObj, webhookPods, type Json, type JsonObj } from './convert.js';
import { checkMetaJsonEnv, firstDiff, formatDiff, normalizeWebhookPod } from './normalize.js';

// The project modules are imported lazily (in WebhookHarness.create) so the CLI half of the suite still runs while
// parts of src/ do not exist yet.
type Modules = {
  loadConfig: typeof import('../../src/config/load.js').loadConfig;
  createRuntime: typeof import('../../src/server/runtime.js').createRuntime;
  startTestServer: typeof import('../helpers/https.js').startTestServer;
  removeTestCertificates: typeof import('../helpers/https.js').removeTestCertificates;
};
type TestServer = import('../helpers/https.js').TestServer;

export interface AdmissionResponse {
  uid?: string;
  allowed?: boolean;
  patchType?: string;
  patch?: string;
  status?: { message?: string; code?: number };
  [key: string]: unknown;
}

export class WebhookServer {
  constructor(private readonly server: TestServer) {}

  close(): Promise<void> {
    return this.server.close();
  }

  /** Sends an admission.k8s.io/v1 AdmissionReview (CREATE) for `pod`; returns `response` after checking the envelope. */
  async review(pod: JsonObj, namespace: string): Promise<AdmissionResponse> {
    const uid = randomUUID();
    const meta = isObj(pod.metadata) ? pod.metadata : {};
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' },
        requestResource: { group: '', version: 'v1', resource: 'pods' },
        ...(typeof meta.name === 'string' ? { name: meta.name } : {}),
        namespace,
        operation: 'CREATE',
        userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
        object: pod,
        oldObject: null,
        dryRun: false,
        options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      },
    };
    const res = await this.server.postJson('/inject', review);
    if (res.status !== 200) throw new Error(`webhook answered HTTP ${res.status}: ${res.text.slice(0, 500)}`);
    const body = res.json;
    if (!isObj(body) || body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
      throw new Error(`not an admission.k8s.io/v1 AdmissionReview: ${res.text.slice(0, 500)}`);
    }
    const response = body.response;
    if (!isObj(response)) throw new Error(`AdmissionReview without response: ${res.text.slice(0, 500)}`);
    if (response.uid !== uid) throw new Error(`response.uid ${JSON.stringify(response.uid)} != request.uid ${uid}`);
    return response as AdmissionResponse;
  }

  /** Reviews `pod`, requires `allowed: true`, and returns the pod with the returned JSON Patch applied (validated). */
  async admitAndPatch(pod: JsonObj, namespace: string): Promise<JsonObj> {
    const response = await this.review(pod, namespace);
    if (response.allowed !== true) {
      throw new Error(`expected allowed: true, got ${JSON.stringify(response).slice(0, 500)}`);
    }
    if (response.patch === undefined || response.patch === null) return structuredClone(pod);
    if (response.patchType !== 'JSONPatch') throw new Error(`patchType ${JSON.stringify(response.patchType)}, want JSONPatch`);
    const ops = JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8')) as Operation[];
    if (!Array.isArray(ops)) throw new Error('patch is not a JSON array');
    const doc = structuredClone(pod);
    try {
      return jsonpatch.applyPatch(doc, ops, true).newDocument as JsonObj;
    } catch (err) {
      throw new Error(`JSON Patch does not apply to the input pod: ${(err as Error).message}`);
    }
  }
}

type LoadOptions = import('../../src/config/load.js').LoadConfigOptions;

export class WebhookHarness {
  private readonly servers = new Map<string, Promise<WebhookServer>>();

  private constructor(
    private readonly mods: Modules,
    private readonly optionsFor: (c: ConformanceCase) => LoadOptions,
  ) {}

  /** `optionsFor`: how a case's configuration is loaded (default: the conformance defaults and the case's --set). */
  static async create(optionsFor: (c: ConformanceCase) => LoadOptions = loadConfigOptions): Promise<WebhookHarness> {
    const [{ loadConfig }, { createRuntime }, { startTestServer, removeTestCertificates }] = await Promise.all([
      import('../../src/config/load.js'),
      import('../../src/server/runtime.js'),
      import('../helpers/https.js'),
    ]);
    return new WebhookHarness({ loadConfig, createRuntime, startTestServer, removeTestCertificates }, optionsFor);
  }

  /** The server for the case's configuration (started on first use, shared by cases with the same configuration). */
  serverFor(c: ConformanceCase): Promise<WebhookServer> {
    const key = configKey(c);
    let s = this.servers.get(key);
    if (!s) {
      s = this.start(c);
      this.servers.set(key, s);
    }
    return s;
  }

  private async start(c: ConformanceCase): Promise<WebhookServer> {
    const { loadConfig, createRuntime, startTestServer } = this.mods;
    return new WebhookServer(await startTestServer(createRuntime(loadConfig(this.optionsFor(c))), { logger: false }));
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.servers.values()]);
    await Promise.allSettled(all.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
    await this.mods.removeTestCertificates();
  }
}

/**
 * One case through the webhook: every injectable document of its input as an AdmissionReview, the answer's patch
 * applied and compared with the golden pod (or the rejection's message checked). Throws an Error saying what differs.
 */
export async function checkWebhookCase(harness: WebhookHarness, c: ConformanceCase): Promise<void> {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const inputs = webhookPods(readTestdata(c.input), c.input);
  if (inputs.length === 0) fail(`${c.input}: no injectable document`);
  const server = await harness.serverFor(c);

  if (c.expectError !== null) {
    for (const [i, { pod, namespace }] of inputs.entries()) {
      const res = await server.review(pod, namespace);
      if (res.allowed !== false) fail(`pod ${i}: expected allowed: false, got ${JSON.stringify(res).slice(0, 500)}`);
      const msg = String(res.status?.message ?? '');
      if (!msg.toLowerCase().includes(c.expectError)) {
        fail(`pod ${i}: status.message does not contain ${JSON.stringify(c.expectError)}: ${JSON.stringify(msg)}`);
      }
    }
    return;
  }

  const wants = webhookPods(readTestdata(c.golden!), c.golden!);
  if (wants.length !== inputs.length) fail(`input has ${inputs.length} injectable docs, golden ${wants.length}`);
  for (const [i, { pod, namespace }] of inputs.entries()) {
    const got = await server.admitAndPatch(pod, namespace);
    const problems = checkMetaJsonEnv(got);
    if (problems.length > 0) fail(`pod ${i}: ${problems.join('; ')}`);
    const d = firstDiff(normalizeWebhookPod(got) as Json, normalizeWebhookPod(wants[i]!.pod as JsonObj) as Json, `pod[${i}]`);
    if (d) fail(`patched pod differs from ${c.golden}: ${formatDiff(d)}`);
  }
}
