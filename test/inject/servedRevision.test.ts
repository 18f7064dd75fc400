/**
 * A served revision (`servedRevision`, `--revision NAME`): the injector answers only for the pods Istio's webhooks for
 * revision NAME select (rev.namespace, rev.object; never on by default), and only when it knows the namespace's
 * labels; what it injects is rendered for `values.revision`, the control plane the proxies talk to, exactly as without
 * it. The migration steps over every label combination are in test/migration/steps.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { createExplainer } from '../../src/explain/index.js';
import { formatExplanationsText } from '../../src/explain/format.js';
import { decideInjection, servedSelection, traceInjection } from '../../src/inject/decision.js';
import { createInjector } from '../../src/inject/index.js';
import type { Pod } from '../../src/k8s/types.js';
import { appPod, container, env } from './review.js';

type Labels = Record<string, string>;
const NAMESPACES: Record<string, Labels> = {
  canary: { 'istio.io/rev': 'mesh-webhook' },
  legacy: { 'istio-injection': 'enabled' },
  both: { 'istio-injection': 'enabled', 'istio.io/rev': 'mesh-webhook' },
  stable: { 'istio.io/rev': 'default' },
  plain: { team: 'shop' },
  off: { 'istio-injection': 'disabled' },
};
const cluster = { namespaceLabels: (ns: string) => (Object.hasOwn(NAMESPACES, ns) ? NAMESPACES[ns] : undefined), nativeSidecarsSupported: () => true };

function injector(opts: LoadConfigOptions = {}) {
  return createInjector(loadConfig({ servedRevision: 'mesh-webhook', ...opts }), cluster);
}
const outcome = (inj: ReturnType<typeof injector>, namespace: string, labels: Labels = {}) => inj.inject({ pod: appPod({ labels }), namespace });

describe('which pods a served revision injects', () => {
  const canary = injector();

  it.each([
    ['canary', {}, true, 'policy enabled'],
    ['canary', { 'sidecar.istio.io/inject': 'true' }, true, 'label sidecar.istio.io/inject=true'],
    ['plain', { 'istio.io/rev': 'mesh-webhook' }, true, 'policy enabled'],
    // Istio's namespace webhook (istio-injection=enabled) wins over istio.io/rev: istiod's, not the canary's.
    ['both', {}, false, 'revision mesh-webhook (servedRevision): namespace both is not labelled istio.io/rev=mesh-webhook without istio-injection'],
    ['legacy', {}, false, 'revision mesh-webhook (servedRevision): namespace legacy is not labelled'],
    ['legacy', { 'istio.io/rev': 'mesh-webhook' }, false, 'revision mesh-webhook (servedRevision)'],
    ['stable', { 'istio.io/rev': 'mesh-webhook' }, false, 'revision mesh-webhook (servedRevision)'],
    ['plain', { 'sidecar.istio.io/inject': 'true' }, false, 'revision mesh-webhook (servedRevision)'],
    ['plain', {}, false, 'revision mesh-webhook (servedRevision)'],
    ['canary', { 'sidecar.istio.io/inject': 'false' }, false, 'label sidecar.istio.io/inject=false'],
    ['off', { 'istio.io/rev': 'mesh-webhook' }, false, 'revision mesh-webhook (servedRevision)'],
  ] as const)('namespace %s, pod labels %j → injected %s (%s)', (namespace, labels, injected, reason) => {
    const o = outcome(canary, namespace, { ...labels });
    expect(o.kind).toBe(injected ? 'injected' : 'skipped');
    expect(o.kind === 'rejected' ? o.message : o.reason).toContain(reason);
  });

  it('injection on by default does not apply to a served revision (kyma profile: enableNamespacesByDefault true)', () => {
    expect(loadConfig().values.sidecarInjectorWebhook).toMatchObject({ enableNamespacesByDefault: true });
    expect(outcome(canary, 'plain').kind).toBe('skipped');
    // Without servedRevision the same configuration injects it (Istio's auto webhook).
    expect(outcome(createInjector(loadConfig(), cluster), 'plain').kind).toBe('injected');
  });

  it('namespace labels unknown: skipped, whatever the pod says, with the reason', () => {
    for (const labels of [{}, { 'istio.io/rev': 'mesh-webhook' }, { 'sidecar.istio.io/inject': 'true' }] as Labels[]) {
      const o = outcome(canary, 'unknown', labels);
      expect(o).toMatchObject({
        kind: 'skipped',
        rule: 'webhookSelectors',
        reason:
          "namespace labels unknown: revision mesh-webhook (servedRevision) is injected only where Istio's webhooks for it select the pod, which depends on the labels of namespace unknown",
      });
    }
    // Without a cluster, the configuration's namespaceLabels count as known.
    const offline = createInjector(loadConfig({ servedRevision: 'mesh-webhook', sets: ['namespaceLabels={"canary":{"istio.io/rev":"mesh-webhook"}}'] }));
    expect(offline.inject({ pod: appPod(), namespace: 'canary' }).kind).toBe('injected');
    expect(offline.inject({ pod: appPod(), namespace: 'elsewhere' }).kind).toBe('skipped');
  });

  it('without servedRevision, unknown labels keep Istio\'s decision (its golden cases have no namespace labels)', () => {
    const plain = createInjector(loadConfig({ profile: 'istio' }));
    expect(plain.inject({ pod: appPod(), namespace: 'unknown' }).kind).toBe('injected');
  });

  it('servedRevision default: the default revision\'s four opt-in webhooks, never auto', () => {
    const config = loadConfig({ servedRevision: 'default' });
    expect(servedSelection(config, '', true)).toEqual({ revision: 'default', source: 'servedRevision', webhooks: ['rev.namespace', 'rev.object', 'namespace', 'object'] });
    const inj = createInjector(config, cluster);
    expect(outcome(inj, 'legacy').kind).toBe('injected');
    expect(outcome(inj, 'stable').kind).toBe('injected');
    expect(outcome(inj, 'plain', { 'sidecar.istio.io/inject': 'true' }).kind).toBe('injected');
    expect(outcome(inj, 'plain').kind).toBe('skipped');
    expect(outcome(inj, 'canary').kind).toBe('skipped');
  });
});

describe('servedSelection: the webhooks Istio registers for the revision served', () => {
  it.each([
    ['values.revision empty, on by default', {}, '', true, { revision: 'default', source: 'values.revision', webhooks: ['rev.namespace', 'rev.object', 'namespace', 'object', 'auto'] }],
    ['values.revision empty, opt-in', {}, '', false, { revision: 'default', source: 'values.revision', webhooks: ['rev.namespace', 'rev.object', 'namespace', 'object'] }],
    // A revisioned istiod has no namespace/object/auto webhooks: the chart renders them only for the default revision.
    ['values.revision 1-30, on by default', {}, '1-30', true, { revision: '1-30', source: 'values.revision', webhooks: ['rev.namespace', 'rev.object'] }],
    ['servedRevision mesh-webhook, on by default', { servedRevision: 'mesh-webhook' }, '', true, { revision: 'mesh-webhook', source: 'servedRevision', webhooks: ['rev.namespace', 'rev.object'] }],
    ['servedRevision mesh-webhook with values.revision 1-30', { servedRevision: 'mesh-webhook' }, '1-30', undefined, { revision: 'mesh-webhook', source: 'servedRevision', webhooks: ['rev.namespace', 'rev.object'] }],
  ] as const)('%s', (_, config, valuesRevision, byDefault, expected) => {
    expect(servedSelection(config, valuesRevision, byDefault)).toEqual(expected);
  });
});

describe('what a served revision renders: the control plane of values.revision, as istiod does', () => {
  /**
   * The pod injected in namespace shop labelled for the served revision, and the same pod injected without
   * servedRevision in namespace shop labelled for the control plane's revision (`istio.io/rev=<values.revision>`).
   */
  function both(opts: LoadConfigOptions) {
    const view = (labels: Labels) => ({ namespaceLabels: () => labels, nativeSidecarsSupported: () => true });
    const config = loadConfig(opts);
    const own = String(config.values.revision || 'default');
    const canary = createInjector(loadConfig({ ...opts, servedRevision: 'mesh-webhook' }), view({ 'istio.io/rev': 'mesh-webhook' })).inject({ pod: appPod(), namespace: 'shop' });
    const plain = createInjector(config, view({ 'istio.io/rev': own })).inject({ pod: appPod(), namespace: 'shop' });
    if (canary.kind !== 'injected' || plain.kind !== 'injected') throw new Error(`expected both injected: ${canary.reason}; ${plain.reason}`);
    return { canary: canary.pod, plain: plain.pod };
  }
  const status = (pod: Pod) => JSON.parse(pod.metadata!.annotations!['sidecar.istio.io/status']!) as { revision: string };
  const proxy = (pod: Pod) => container(pod, 'istio-proxy');

  it('default control plane: CA_ADDR istiod.istio-system.svc:15012, istio.io/rev default, status revision default', () => {
    const { canary } = both({});
    expect(env(proxy(canary), 'CA_ADDR')).toBe('istiod.istio-system.svc:15012');
    expect(canary.metadata!.annotations!['istio.io/rev']).toBe('default');
    expect(status(canary).revision).toBe('default');
    // Never the served revision's name: there is no istiod-mesh-webhook.
    expect(JSON.stringify(canary)).not.toContain('istiod-mesh-webhook');
  });

  it('revisioned control plane (values.revision 1-30): CA_ADDR istiod-1-30, istio.io/rev 1-30', () => {
    const { canary } = both({ sets: ['values.revision=1-30'] });
    expect(env(proxy(canary), 'CA_ADDR')).toBe('istiod-1-30.istio-system.svc:15012');
    expect(canary.metadata!.annotations!['istio.io/rev']).toBe('1-30');
    expect(status(canary).revision).toBe('1-30');
  });

  it('the injected pod is the one the same configuration injects without servedRevision', () => {
    for (const opts of [{}, { profile: 'kyma-module' as const }, { profile: 'istio' as const, sets: ['values.revision=1-30'] }]) {
      const { canary, plain } = both(opts);
      expect(canary).toEqual(plain);
    }
  });
});

describe('explain shows the served revision and the rule', () => {
  const explainer = createExplainer(injector({ sets: ['values.revision=1-30'] }), { cluster });
  const pod = (namespace: string, labels: Labels = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace, labels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });

  it('JSON: served revision, its webhooks and what is rendered', () => {
    const e = explainer.explain(pod('canary'))!;
    expect(e.served).toEqual({
      revision: 'mesh-webhook',
      source: 'servedRevision',
      webhooks: ['rev.namespace', 'rev.object'],
      rendered: { revision: '1-30', caAddress: 'istiod-1-30.istio-system.svc:15012' },
    });
    expect(e.steps[0]).toMatchObject({
      rule: 'webhookSelectors',
      check: "opt-in injection: Istio's webhooks for revision mesh-webhook (servedRevision) (rev.namespace, rev.object; namespace and pod labels)",
      result: 'passed',
      detail: "selected by Istio's rev.namespace.sidecar-injector.istio.io webhook",
    });
  });

  it('text: one line names both; a skipped pod says how to move its namespace to the served revision', () => {
    const e = explainer.explain(pod('legacy'))!;
    const text = formatExplanationsText([e]).split('\n');
    expect(text[2]).toBe(
      "  served revision: mesh-webhook (from servedRevision; Istio's webhooks for it: rev.namespace, rev.object); the sidecar is rendered for revision 1-30 (CA_ADDR istiod-1-30.istio-system.svc:15012)",
    );
    expect(e.decision).toMatchObject({ inject: false, rule: 'webhookSelectors' });
    expect(e.change).toBe('kubectl label namespace legacy istio.io/rev=mesh-webhook istio-injection- --overwrite, or label the pod istio.io/rev=mesh-webhook in a namespace with neither label');
  });
});

describe('injection on by default follows Istio\'s auto webhook when the namespace labels are known', () => {
  const onByDefault = loadConfig();
  const decide = (namespace: string, nsLabels: Labels | undefined, podLabels: Labels = {}) =>
    decideInjection({ pod: appPod({ labels: podLabels }), namespace, ...(nsLabels ? { namespaceLabels: nsLabels } : {}), revision: 'default', enableNamespacesByDefault: true }, onByDefault);

  it.each([
    // Another revision's pod in an unlabelled namespace: that revision's rev.object webhook, not auto.
    [{}, { 'istio.io/rev': 'canary' }, false, 'webhookSelectors', "pod label istio.io/rev=canary names another revision than default: that revision's injector owns the pod"],
    [{}, { 'istio.io/rev': 'canary', 'sidecar.istio.io/inject': 'true' }, false, 'webhookSelectors', "pod label istio.io/rev=canary names another revision than default: that revision's injector owns the pod"],
    [{}, { 'sidecar.istio.io/inject': 'yes' }, false, 'webhookSelectors', 'pod label sidecar.istio.io/inject=yes is not "true" or "false": Istio\'s webhooks do not select the pod'],
    [{ 'istio-injection': 'on' }, {}, false, 'webhookSelectors', "namespace shop has label istio-injection=on: Istio's webhooks select only istio-injection=enabled"],
    // What the namespace rules decide keeps their reasons.
    [{ 'istio.io/rev': 'canary' }, {}, false, 'namespaceRevision', 'namespace shop has label istio.io/rev=canary, this injector serves revision default'],
    [{ 'istio-injection': 'disabled' }, { 'sidecar.istio.io/inject': 'true' }, false, 'namespaceInjectionDisabled', 'namespace shop has label istio-injection=disabled'],
    // Selected: auto, object, rev.object, namespace.
    [{}, {}, true, 'policy', 'policy enabled'],
    [{}, { 'sidecar.istio.io/inject': 'true' }, true, 'podLabel', 'label sidecar.istio.io/inject=true'],
    [{}, { 'istio.io/rev': 'default' }, true, 'policy', 'policy enabled'],
    [{ 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }, { 'istio.io/rev': 'canary' }, true, 'policy', 'policy enabled'],
  ] as const)('namespace %j, pod %j → %s (%s)', (nsLabels, podLabels, inject, rule, reason) => {
    expect(decide('shop', { ...nsLabels }, { ...podLabels })).toEqual({ inject, rule, reason });
  });

  it('labels unknown: Istio\'s decision, as before', () => {
    expect(decide('shop', undefined, { 'istio.io/rev': 'canary' })).toMatchObject({ inject: true, rule: 'policy' });
    const trace = traceInjection({ pod: appPod(), namespace: 'shop', revision: 'default', enableNamespacesByDefault: true }, onByDefault);
    expect(trace.steps[0]).toMatchObject({ result: 'passed', detail: 'enableNamespacesByDefault: true' });
  });
});
