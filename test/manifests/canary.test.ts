/**
 * manifests/components/canary (docs/migration.md): mesh-webhook as a canary beside istiod. Its webhook configuration
 * has only Istio's two revision webhooks for istio.io/rev=mesh-webhook, each with mesh-webhook's own exclusions; the
 * Deployment runs `--revision mesh-webhook`; the revision in the selectors and in the arguments is the same; nothing
 * else of the overlay changes. Which pods reach which injector at each step: test/migration/steps.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { parseCommandLine } from '../../src/cli/args.js';
import { loadConfig } from '../../src/config/load.js';
import { servedSelection } from '../../src/inject/decision.js';
import { compileSettings } from '../../src/inject/settings.js';
import { renderComposition, type Obj } from './render.js';

interface Expression {
  key: string;
  operator: string;
  values?: string[];
}
interface Webhook {
  name: string;
  failurePolicy: string;
  timeoutSeconds: number;
  reinvocationPolicy: string;
  sideEffects: string;
  matchPolicy: string;
  clientConfig: { service: { name: string; namespace: string; path: string; port: number } };
  rules: unknown[];
  namespaceSelector: { matchExpressions: Expression[] };
  objectSelector: { matchExpressions: Expression[] };
}

const EXCLUSIONS: Expression[] = [
  { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['istio-system', 'kube-system', 'kube-public', 'kube-node-lease', 'mesh-webhook'] },
  { key: 'gardener.cloud/purpose', operator: 'NotIn', values: ['kube-system'] },
];

const mwc = (objs: Obj[]) => objs.find((o) => o.kind === 'MutatingWebhookConfiguration') as unknown as Obj & { webhooks: Webhook[] };
const args = (objs: Obj[]) =>
  (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } }).spec.template.spec.containers.find(
    (c) => c.name === 'mesh-webhook',
  )!.args;
const without = (objs: Obj[], kinds: string[]) => objs.filter((o) => !kinds.includes(o.kind));

const base = renderComposition(['base'], []);
const canary = renderComposition(['base'], ['components/canary']);
const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('components/canary', () => {
  it("has Istio's two revision webhooks for istio.io/rev=mesh-webhook, each with mesh-webhook's exclusions, schema-valid", () => {
    const config = mwc(canary);
    expect(() => new MutatingWebhookConfiguration(config as never).validate()).not.toThrow();
    expect(config.metadata.name).toBe('mesh-webhook');
    expect(config.metadata.annotations).toEqual({ 'mesh-webhook.kyma-project.io/failure-policy': 'Fail' });
    expect(config.webhooks.map((w) => w.name)).toEqual(['rev.namespace.inject.mesh-webhook.kyma-project.io', 'rev.object.inject.mesh-webhook.kyma-project.io']);
    const [revNamespace, revObject] = config.webhooks as [Webhook, Webhook];
    expect(revNamespace.namespaceSelector.matchExpressions).toEqual([
      ...EXCLUSIONS,
      { key: 'istio.io/rev', operator: 'In', values: ['mesh-webhook'] },
      { key: 'istio-injection', operator: 'DoesNotExist' },
    ]);
    expect(revNamespace.objectSelector.matchExpressions).toEqual([{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }]);
    expect(revObject.namespaceSelector.matchExpressions).toEqual([
      ...EXCLUSIONS,
      { key: 'istio.io/rev', operator: 'DoesNotExist' },
      { key: 'istio-injection', operator: 'DoesNotExist' },
    ]);
    expect(revObject.objectSelector.matchExpressions).toEqual([
      { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] },
      { key: 'istio.io/rev', operator: 'In', values: ['mesh-webhook'] },
    ]);
  });

  it("keeps the base webhook's settings: registered Ignore, the service, timeout, reinvocation, rules", () => {
    const [plain] = mwc(base).webhooks as [Webhook];
    for (const w of mwc(canary).webhooks) {
      const { name: _n, namespaceSelector: _ns, objectSelector: _os, ...settings } = w;
      const { name: _bn, namespaceSelector: _bns, objectSelector: _bos, ...baseSettings } = plain;
      expect(settings).toEqual(baseSettings);
      expect(w.failurePolicy).toBe('Ignore');
    }
  });

  it('runs the service with --revision mesh-webhook, the revision its webhooks select', () => {
    expect(args(canary)).toEqual([...args(base), '--revision', 'mesh-webhook']);
    expect(() => new Deployment(canary.find((o) => o.kind === 'Deployment') as never).validate()).not.toThrow();
    const inv = parseCommandLine(args(canary));
    if (inv.command !== 'serve') throw new Error('not serve');
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, (canary.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> }).data['config.yaml']!);
    const config = loadConfig({ ...inv.args.config, configFile });
    const settings = compileSettings(config);
    const served = servedSelection(config, settings.revision, settings.enableNamespacesByDefault);
    expect(served).toEqual({ revision: 'mesh-webhook', source: 'servedRevision', webhooks: ['rev.namespace', 'rev.object'] });
    // Every revision value in the webhooks' selectors is the one served.
    const selected = mwc(canary).webhooks.flatMap((w) =>
      [...w.namespaceSelector.matchExpressions, ...w.objectSelector.matchExpressions].filter((e) => e.key === 'istio.io/rev' && e.operator === 'In').flatMap((e) => e.values ?? []),
    );
    expect(new Set(selected)).toEqual(new Set([served.revision]));
    // Rendered for the control plane's revision (values.revision empty: istiod), not the served one.
    expect(settings.revision).toBe('');
  });

  it('changes nothing else than the webhooks and the arguments', () => {
    expect(without(canary, ['MutatingWebhookConfiguration', 'Deployment'])).toEqual(without(base, ['MutatingWebhookConfiguration', 'Deployment']));
  });

  it('listed after kyma-module (or opt-in-injection), its webhooks replace theirs; the profile stays', () => {
    const module = renderComposition(['base'], ['components/kyma-module', 'components/canary']);
    expect(mwc(module)).toEqual(mwc(canary));
    expect(args(module).slice(-6)).toEqual(['--set', 'values.sidecarInjectorWebhook.enableNamespacesByDefault=false', '--profile', 'kyma-module', '--revision', 'mesh-webhook']);
  });
});
