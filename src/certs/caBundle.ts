/**
 * The CA bundle in the webhook configurations: `webhooks[*].clientConfig.caBundle` of the service's own
 * MutatingWebhookConfiguration and ValidatingWebhookConfiguration (by name).
 *
 * Patched with a JSON Patch that also sets the observed `metadata.resourceVersion`: the API server then applies it
 * only to the version we read (409 Conflict otherwise), so the webhook indexes in the paths cannot point at another
 * webhook after a concurrent change. On conflict: read again and retry. Only webhooks whose bundle differs are
 * patched; nothing is sent when all match.
 */
import type { ClusterClient, JsonPatchOperation, WebhookKind } from '../cluster/client.js';
import { isConflict } from '../cluster/client.js';
import { splitPemCertificates, tryParseCertificate } from './x509.js';

export interface WebhookNames {
  mutating?: string;
  validating?: string;
}

type Client = Pick<ClusterClient, 'readWebhookConfiguration' | 'patchWebhookConfiguration'>;

const KIND_NAMES: Record<WebhookKind, string> = { mutating: 'MutatingWebhookConfiguration', validating: 'ValidatingWebhookConfiguration' };
const MAX_ATTEMPTS = 5;

function configured(names: WebhookNames): [WebhookKind, string][] {
  return (['mutating', 'validating'] as const).flatMap((k) => (names[k] ? [[k, names[k]] as [WebhookKind, string]] : []));
}

export interface PublishResult {
  /** Configurations patched ("MutatingWebhookConfiguration mesh-webhook"). */
  patched: string[];
  /** Configurations that do not exist. */
  missing: string[];
}

/** Make every webhook of both configurations carry `caPem` as its caBundle. */
export async function publishCaBundle(client: Client, names: WebhookNames, caPem: string): Promise<PublishResult> {
  const want = Buffer.from(caPem).toString('base64');
  const result: PublishResult = { patched: [], missing: [] };
  for (const [kind, name] of configured(names)) {
    const label = `${KIND_NAMES[kind]} ${name}`;
    for (let attempt = 1; ; attempt += 1) {
      const config = await client.readWebhookConfiguration(kind, name);
      if (!config) {
        result.missing.push(label);
        break;
      }
      const ops: JsonPatchOperation[] = [];
      config.webhooks.forEach((w, i) => {
        if (w.caBundle !== want) ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want });
      });
      if (ops.length === 0) break;
      try {
        await client.patchWebhookConfiguration(kind, name, [
          { op: 'replace', path: '/metadata/resourceVersion', value: config.metadata.resourceVersion },
          ...ops,
        ]);
        result.patched.push(label);
        break;
      } catch (err) {
        if (isConflict(err) && attempt < MAX_ATTEMPTS) continue;
        throw err;
      }
    }
  }
  return result;
}

function fingerprints(pem: string): Set<string> {
  const out = new Set<string>();
  for (const block of splitPemCertificates(pem)) {
    const x = tryParseCertificate(block);
    if (x) out.add(x.fingerprint256);
  }
  return out;
}

/** Whether every webhook of every configured configuration trusts `caPem` (false when one is missing). */
export async function caBundleTrusts(client: Client, names: WebhookNames, caPem: string): Promise<boolean> {
  const wanted = [...fingerprints(caPem)];
  for (const [kind, name] of configured(names)) {
    const config = await client.readWebhookConfiguration(kind, name);
    if (!config) return false;
    for (const w of config.webhooks) {
      const have = fingerprints(Buffer.from(w.caBundle ?? '', 'base64').toString('utf8'));
      if (!wanted.every((f) => have.has(f))) return false;
    }
  }
  return true;
}
