/**
 * Changes to the service's own webhook configurations (the MutatingWebhookConfiguration and the
 * ValidatingWebhookConfiguration, by name): read, work out the JSON Patch operations, and send them together with the
 * observed `metadata.resourceVersion`. The API server then applies them only to the version that was read (409
 * Conflict otherwise), so the webhook indexes in the paths cannot point at another webhook after a concurrent change;
 * on conflict the configuration is read again. Nothing is sent when there is nothing to change.
 *
 * Used for the caBundle (src/certs/caBundle.ts) and the failure policy (./failurePolicy.ts); the
 * ValidatingAdmissionPolicy in manifests/base/admission-policy.yaml limits what such a patch may change.
 */
import type { ClusterClient, JsonPatchOperation, WebhookConfigurationObject, WebhookKind } from './client.js';
import { isConflict } from './client.js';

export interface WebhookNames {
  mutating?: string;
  validating?: string;
}

export type WebhookConfigurationClient = Pick<ClusterClient, 'readWebhookConfiguration' | 'patchWebhookConfiguration'>;

export const KIND_NAMES: Record<WebhookKind, string> = { mutating: 'MutatingWebhookConfiguration', validating: 'ValidatingWebhookConfiguration' };
const MAX_ATTEMPTS = 5;

/** The configured (kind, name) pairs, mutating first. */
export function configuredWebhooks(names: WebhookNames): [WebhookKind, string][] {
  return (['mutating', 'validating'] as const).flatMap((k) => (names[k] ? [[k, names[k]] as [WebhookKind, string]] : []));
}

export interface PatchResult {
  /** Configurations patched ("MutatingWebhookConfiguration mesh-webhook"). */
  patched: string[];
  /** Configurations that do not exist. */
  missing: string[];
}

/** For each configuration: read it, ask `opsFor` what to change (none: leave it), patch under its resourceVersion. */
export async function patchWebhookConfigurations(
  client: WebhookConfigurationClient,
  names: WebhookNames,
  opsFor: (config: WebhookConfigurationObject, label: string) => JsonPatchOperation[],
): Promise<PatchResult> {
  const result: PatchResult = { patched: [], missing: [] };
  for (const [kind, name] of configuredWebhooks(names)) {
    const label = `${KIND_NAMES[kind]} ${name}`;
    for (let attempt = 1; ; attempt += 1) {
      const config = await client.readWebhookConfiguration(kind, name);
      if (!config) {
        result.missing.push(label);
        break;
      }
      const ops = opsFor(config, label);
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
