/**
 * The CA bundle in the webhook configurations: `webhooks[*].clientConfig.caBundle` of the service's own
 * MutatingWebhookConfiguration and ValidatingWebhookConfiguration (by name).
 *
 * Patched under the observed resourceVersion (src/cluster/webhookConfigurations.ts); only webhooks whose bundle differs
 * are patched, nothing is sent when all match.
 */
import type { JsonPatchOperation } from '../cluster/client.js';
import {
  configuredWebhooks,
  patchWebhookConfigurations,
  type PatchResult,
  type WebhookConfigurationClient,
  type WebhookNames,
} from '../cluster/webhookConfigurations.js';
import { splitPemCertificates, tryParseCertificate } from './x509.js';

export type { WebhookNames } from '../cluster/webhookConfigurations.js';
export type PublishResult = PatchResult;

/** Make every webhook of both configurations carry `caPem` as its caBundle. */
export function publishCaBundle(client: WebhookConfigurationClient, names: WebhookNames, caPem: string): Promise<PublishResult> {
  const want = Buffer.from(caPem).toString('base64');
  return patchWebhookConfigurations(client, names, (config) => {
    const ops: JsonPatchOperation[] = [];
    config.webhooks.forEach((w, i) => {
      if (w.caBundle !== want) ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want });
    });
    return ops;
  });
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
export async function caBundleTrusts(client: WebhookConfigurationClient, names: WebhookNames, caPem: string): Promise<boolean> {
  const wanted = [...fingerprints(caPem)];
  for (const [kind, name] of configuredWebhooks(names)) {
    const config = await client.readWebhookConfiguration(kind, name);
    if (!config) return false;
    for (const w of config.webhooks) {
      const have = fingerprints(Buffer.from(w.caBundle ?? '', 'base64').toString('utf8'));
      if (!wanted.every((f) => have.has(f))) return false;
    }
  }
  return true;
}
