/**
 * The failure-policy switch (src/cluster/failurePolicy.ts): the pure decision for one configuration, and the passes
 * against the API test double (conflicts, an invalid annotation logged once, an API error retried, a configuration
 * without the annotation never touched). The whole install story is test/cluster/install.test.ts.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookConfigurationObject } from '../../src/cluster/client.js';
import {
  applyFailurePolicy,
  FAILURE_POLICY_ANNOTATION,
  failurePolicyChange,
  startFailurePolicyControl,
  type FailurePolicyControl,
} from '../../src/cluster/failurePolicy.js';
import { generateDevCertificates } from '../../src/tls/devcert.js';
import { waitFor } from '../helpers/wait.js';
import { recordingLogger, startHarness, type Harness } from './helpers.js';

let ours: { ca: string; cert: string };
let other: { ca: string; cert: string };
beforeAll(async () => {
  ours = await generateDevCertificates(['mesh-webhook.mesh-webhook.svc']);
  other = await generateDevCertificates(['mesh-webhook.mesh-webhook.svc']);
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

function config(annotation: string | undefined, webhooks: { failurePolicy?: string; caBundle?: string }[]): WebhookConfigurationObject {
  return {
    metadata: { name: 'mesh-webhook', resourceVersion: '7', ...(annotation !== undefined ? { annotations: { [FAILURE_POLICY_ANNOTATION]: annotation } } : {}) },
    webhooks: webhooks.map((w, i) => ({ name: `w${i}.example.com`, ...w })),
  };
}

describe('failurePolicyChange: what one configuration needs', () => {
  it('switches every differing webhook once every caBundle trusts the served certificate', () => {
    const c = config('Fail', [
      { failurePolicy: 'Ignore', caBundle: b64(ours.ca) },
      { failurePolicy: 'Fail', caBundle: b64(other.ca + ours.ca) },
    ]);
    expect(failurePolicyChange(c, ours.cert)).toEqual({ state: 'holds', ops: [{ op: 'add', path: '/webhooks/0/failurePolicy', value: 'Fail' }] });
  });

  it('waits while one caBundle does not trust it, or no certificate is served', () => {
    const c = config('Fail', [
      { failurePolicy: 'Ignore', caBundle: b64(ours.ca) },
      { failurePolicy: 'Ignore', caBundle: b64(other.ca) },
    ]);
    expect(failurePolicyChange(c, ours.cert)).toEqual({ state: 'waiting', ops: [] });
    expect(failurePolicyChange(config('Fail', [{ failurePolicy: 'Ignore' }]), ours.cert)).toEqual({ state: 'waiting', ops: [] });
    expect(failurePolicyChange(config('Fail', [{ failurePolicy: 'Ignore', caBundle: b64(ours.ca) }]), undefined)).toEqual({ state: 'waiting', ops: [] });
  });

  it('leaves a configuration alone when it holds, has no annotation, or an invalid one', () => {
    const trusted = { caBundle: b64(ours.ca) };
    expect(failurePolicyChange(config('Fail', [{ failurePolicy: 'Fail', ...trusted }]), ours.cert)).toEqual({ state: 'holds', ops: [] });
    expect(failurePolicyChange(config(undefined, [{ failurePolicy: 'Ignore', ...trusted }]), ours.cert)).toEqual({ state: 'unmanaged', ops: [] });
    expect(failurePolicyChange(config('fail', [{ failurePolicy: 'Ignore', ...trusted }]), ours.cert)).toEqual({ state: 'invalid', ops: [] });
  });

  it('follows the annotation both ways: Ignore annotated turns a Fail back', () => {
    const c = config('Ignore', [{ failurePolicy: 'Fail', caBundle: b64(ours.ca) }]);
    expect(failurePolicyChange(c, ours.cert).ops).toEqual([{ op: 'add', path: '/webhooks/0/failurePolicy', value: 'Ignore' }]);
  });
});

describe('passes against the API test double', () => {
  let h: Harness;
  let control: FailurePolicyControl | undefined;
  afterEach(async () => {
    await control?.stop();
    control = undefined;
    await h.close();
  });

  function register(annotation: string | undefined, caBundle: string | undefined): void {
    const meta = { name: 'mesh-webhook', ...(annotation !== undefined ? { annotations: { [FAILURE_POLICY_ANNOTATION]: annotation } } : {}) };
    const clientConfig = { service: { name: 'mesh-webhook', namespace: 'mesh-webhook' }, ...(caBundle ? { caBundle: b64(caBundle) } : {}) };
    h.api.apply('mutatingwebhookconfigurations', { metadata: meta, webhooks: [{ name: 'inject.example.com', clientConfig, failurePolicy: 'Ignore' }] });
    h.api.apply('validatingwebhookconfigurations', { metadata: { name: 'mesh-webhook' }, webhooks: [{ name: 'validate.example.com', clientConfig, failurePolicy: 'Ignore' }] });
  }
  const policy = (plural: 'mutatingwebhookconfigurations' | 'validatingwebhookconfigurations') =>
    (h.api.get(plural, 'mesh-webhook')?.webhooks as { failurePolicy: string }[])[0]!.failurePolicy;
  const names = { mutating: 'mesh-webhook', validating: 'mesh-webhook' };

  it('patches under the observed resourceVersion, reading again after a conflict; the unannotated one is untouched', async () => {
    h = await startHarness();
    register('Fail', ours.ca);
    h.api.injectConflicts('mutatingwebhookconfigurations', 'mesh-webhook', 2);
    const pass = await applyFailurePolicy(h.client, names, ours.cert);
    expect(pass).toEqual({
      states: { 'MutatingWebhookConfiguration mesh-webhook': 'holds', 'ValidatingWebhookConfiguration mesh-webhook': 'unmanaged' },
      switched: ['MutatingWebhookConfiguration mesh-webhook'],
      missing: [],
    });
    expect([policy('mutatingwebhookconfigurations'), policy('validatingwebhookconfigurations')]).toEqual(['Fail', 'Ignore']);
    const patches = h.api.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(3); // two conflicts, then the patch that applied
    // The next pass sends nothing.
    const again = await applyFailurePolicy(h.client, names, ours.cert);
    expect(again.switched).toEqual([]);
    expect(h.api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(3);
  });

  it('an invalid annotation is logged once and the policy left as it is; an API error is logged and retried', async () => {
    h = await startHarness();
    register('Sometimes', ours.ca);
    const log = recordingLogger();
    // The same failure three times in a row: one warning (then debug), not one per pass.
    h.api.failNext({ method: 'GET', path: 'mutatingwebhookconfigurations' }, 3, 503);
    control = startFailurePolicyControl({ client: h.client, names, servedCertificate: () => ours.cert, logger: log, intervalMs: 50 });
    await waitFor('several passes', () => log.lines.filter((l) => l.msg.includes('must be Fail or Ignore')).length === 1 && h.api.requests.length > 12);
    const failures = log.lines.filter((l) => l.msg.startsWith('failure policy: could not check'));
    expect(failures.map((l) => l.level)).toEqual(['warn', 'debug', 'debug']);
    expect(log.lines.filter((l) => l.msg.includes('must be Fail or Ignore'))).toHaveLength(1);
    expect(policy('mutatingwebhookconfigurations')).toBe('Ignore');
  });
});
