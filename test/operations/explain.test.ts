/**
 * "Why (not) injected": every rule of the decision deciding once, through the explainer, the CLI (`mesh-webhook
 * explain`) and the running service (`POST /explain`); rejections, native vs classic, workloads, namespace labels.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import { explainManifests } from '../../src/explain/manifests.js';
import type { ClusterView } from '../../src/cluster/view.js';
import { loadConfig } from '../../src/config/load.js';
import type { InjectorConfig } from '../../src/config/types.js';
import { createExplainer, type Explanation } from '../../src/explain/index.js';
import type { DecisionRule } from '../../src/inject/decision.js';
import { createInjector } from '../../src/inject/index.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startInProcessServer, type InProcessServer } from '../helpers/inProcess.js';
import { cli, ensureBuilt, review } from './helpers.js';

const SETS = [
  'neverInjectSelector=[{"matchLabels":{"mesh":"never"}}]',
  'alwaysInjectSelector=[{"matchLabels":{"mesh":"always"}}]',
  'namespaceLabels={"off":{"istio-injection":"disabled"},"garden":{"gardener.cloud/purpose":"kube-system"},"canary":{"istio.io/rev":"canary"}}',
];
const config: InjectorConfig = loadConfig({ sets: SETS });

type Obj = Record<string, unknown>;
function pod(namespace: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string>; hostNetwork?: boolean } = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace, ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { ...(extra.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'app', image: 'nginx' }] },
  };
}

/** One case per rule: the pod whose decision that rule makes, and the decision. */
const CASES: { rule: DecisionRule; object: Obj; inject: boolean; reason: string; change: string }[] = [
  { rule: 'hostNetwork', object: pod('shop', { hostNetwork: true }), inject: false, reason: 'hostNetwork', change: 'pods on the host network are never injected; drop spec.hostNetwork to get a sidecar' },
  { rule: 'ignoredNamespace', object: pod('kube-public'), inject: false, reason: 'namespace kube-public is never injected', change: 'these system namespaces are never injected; run the workload in another namespace' },
  { rule: 'excludedNamespace', object: pod('istio-system'), inject: false, reason: 'namespace istio-system is excluded (excludedNamespaces)', change: "remove istio-system from the configuration's excludedNamespaces" },
  { rule: 'namespaceInjectionDisabled', object: pod('off'), inject: false, reason: 'namespace off has label istio-injection=disabled', change: 'kubectl label namespace off istio-injection-' },
  { rule: 'gardenerKubeSystem', object: pod('garden'), inject: false, reason: 'namespace garden has label gardener.cloud/purpose=kube-system', change: "Gardener's kube-system is never injected; run the workload in another namespace" },
  { rule: 'namespaceRevision', object: pod('canary'), inject: false, reason: 'namespace canary has label istio.io/rev=canary, this injector serves revision default', change: 'kubectl label namespace canary istio.io/rev=default --overwrite (or remove the label)' },
  { rule: 'podLabel', object: pod('shop', { labels: { 'sidecar.istio.io/inject': 'false' }, annotations: { 'sidecar.istio.io/inject': 'true' } }), inject: false, reason: 'label sidecar.istio.io/inject=false', change: 'set the pod label sidecar.istio.io/inject: "true"' },
  { rule: 'podAnnotation', object: pod('shop', { annotations: { 'sidecar.istio.io/inject': 'false' } }), inject: false, reason: 'annotation sidecar.istio.io/inject=false', change: 'set the pod label sidecar.istio.io/inject: "true"' },
  { rule: 'neverInjectSelector', object: pod('shop', { labels: { mesh: 'never' } }), inject: false, reason: 'pod labels match neverInjectSelector mesh=never', change: 'set the pod label sidecar.istio.io/inject: "true", or change the pod labels or the selector' },
  { rule: 'alwaysInjectSelector', object: pod('shop', { labels: { mesh: 'always' } }), inject: true, reason: 'pod labels match alwaysInjectSelector mesh=always', change: 'set the pod label sidecar.istio.io/inject: "false", or change the pod labels or the selector' },
  { rule: 'policy', object: pod('shop'), inject: true, reason: 'policy enabled', change: 'set the pod label sidecar.istio.io/inject: "false" or the namespace label istio-injection=disabled' },
];

const ALL_RULES: DecisionRule[] = [
  'webhookSelectors', 'hostNetwork', 'ignoredNamespace', 'excludedNamespace', 'namespaceInjectionDisabled', 'gardenerKubeSystem', 'namespaceRevision',
  'podLabel', 'podAnnotation', 'neverInjectSelector', 'alwaysInjectSelector', 'policy',
];
/** The trace's step names: the pod label and annotation share one step, named podLabel when the pod has the label. */
function stepRules(object: Obj): DecisionRule[] {
  const labels = ((object.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>;
  const read: DecisionRule = Object.hasOwn(labels, 'sidecar.istio.io/inject') ? 'podLabel' : 'podAnnotation';
  return ALL_RULES.filter((r) => r !== (read === 'podLabel' ? 'podAnnotation' : 'podLabel'));
}

function checkExplanation(e: Explanation | undefined, c: (typeof CASES)[number]): void {
  expect(e, c.rule).toBeDefined();
  const x = e!;
  expect(x.decision).toEqual({ inject: c.inject, rule: c.rule, reason: c.reason });
  expect(x.steps.map((s) => s.rule)).toEqual(stepRules(c.object));
  const at = x.steps.findIndex((s) => s.rule === c.rule);
  expect(x.steps.map((s) => s.result)).toEqual(x.steps.map((_, i) => (i < at ? 'passed' : i === at ? 'decided' : 'not reached')));
  expect(x.steps[at]!.detail).toBe(c.reason);
  expect(x.change).toBe(c.change);
  expect(x.injector.outcome).toBe(c.inject ? 'injected' : 'skipped');
  if (c.inject) expect(x.injector.sidecar).toBe('native');
  expect(x.troubleshooting).toHaveLength(c.inject ? 6 : 5);
}

describe('explainer: every decision rule decides once', () => {
  const explainer = createExplainer(createInjector(config));
  it('covers every rule (webhookSelectors decides only with opt-in injection: below)', () => {
    expect([...CASES.map((c) => c.rule), 'webhookSelectors'].sort()).toEqual([...ALL_RULES].sort());
  });
  it.each(CASES)('$rule', (c) => {
    checkExplanation(explainer.explain(c.object), c);
  });

  it('reports a pod the injector would reject, and what to fix', () => {
    const e = explainer.explain(pod('shop', { annotations: { 'sidecar.istio.io/interceptionMode': 'BOGUS' } }))!;
    expect(e.decision.inject).toBe(true);
    expect(e.injector).toEqual({
      outcome: 'rejected',
      reason: 'invalid annotation sidecar.istio.io/interceptionMode',
      message: "invalid value 'BOGUS' for annotation 'sidecar.istio.io/interceptionMode': interceptionMode must be one of REDIRECT, TPROXY, NONE",
    });
    expect(e.change).toContain("fix the pod's annotations");
    expect(e.change).toContain('sidecar.istio.io/interceptionMode');
  });

  it('native or classic: the annotation sidecar.istio.io/nativeSidecar=false gives a classic sidecar', () => {
    expect(explainer.explain(pod('shop', { annotations: { 'sidecar.istio.io/nativeSidecar': 'false' } }))!.injector).toEqual({
      outcome: 'injected',
      reason: 'policy enabled',
      sidecar: 'classic',
    });
  });

  it('explains workloads by their pod template (a CronJob by spec.jobTemplate.spec.template), and no other kinds', () => {
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'shop' },
      spec: { jobTemplate: { spec: { template: { metadata: { labels: { 'sidecar.istio.io/inject': 'false' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } } },
    };
    const e = explainer.explain(cron)!;
    expect(e.object).toBe('CronJob shop/nightly');
    expect(e.decision.rule).toBe('podLabel');
    expect(e.troubleshooting[1]).toContain(".spec.jobTemplate.spec.template.metadata.labels");
    expect(e.troubleshooting[4]).toBe(
      'Labels and annotations act when a pod is created: after changing them, the next Job of CronJob nightly gets the change (or kubectl create job --from=cronjob/nightly <name> -n shop)',
    );
    expect(explainer.explain({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } })).toBeUndefined();
    expect(explainer.explain({ apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: {} } })).toBeUndefined();
  });

  it('reads namespace labels from the cluster view first', () => {
    const view: ClusterView = { namespaceLabels: (ns) => (ns === 'shop' ? { 'istio-injection': 'disabled' } : undefined), nativeSidecarsSupported: () => true };
    const e = createExplainer(createInjector(config, view), { cluster: view }).explain(pod('shop'))!;
    expect(e.namespaceLabels).toEqual({ source: 'cluster', labels: { 'istio-injection': 'disabled' } });
    expect(e.decision.rule).toBe('namespaceInjectionDisabled');
    expect(e.injector.outcome).toBe('skipped');
  });
});

describe('explainManifests (the CLI core): namespace labels', () => {
  const deployment = (namespace?: string) =>
    stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', ...(namespace ? { namespace } : {}) },
      spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
    });
  it('--namespace-labels beats a Namespace object in the input, which beats the configuration', () => {
    const fromConfig = explainManifests(deployment('off'), config)[0]!;
    expect(fromConfig.namespaceLabels).toEqual({ source: 'configuration', labels: { 'istio-injection': 'disabled' } });
    expect(fromConfig.decision.rule).toBe('namespaceInjectionDisabled');

    const nsObject = stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'off', labels: { 'istio-injection': 'enabled' } } });
    const fromInput = explainManifests(`${nsObject}---\n${deployment('off')}`, config)[0]!;
    expect(fromInput.namespaceLabels).toEqual({ source: 'input', labels: { 'istio-injection': 'enabled' } });
    expect(fromInput.decision.rule).toBe('policy');

    const fromFlag = explainManifests(`${nsObject}---\n${deployment('off')}`, config, { namespaceLabels: { 'istio-injection': 'disabled' } })[0]!;
    expect(fromFlag.namespaceLabels.source).toBe('command line');
    expect(fromFlag.decision.rule).toBe('namespaceInjectionDisabled');
  });
  it('--namespace places objects without one', () => {
    const e = explainManifests(deployment(), config, { namespace: 'istio-system' })[0]!;
    expect(e.object).toBe('Deployment istio-system/web');
    expect(e.decision.rule).toBe('excludedNamespace');
    expect(explainManifests(deployment(), config)[0]!.namespace).toBe('default');
  });
  it('parses the flags', () => {
    expect(parseCommandLine(['explain', '-f', 'x.yaml', '--namespace-labels', 'istio-injection=disabled,team=a', '--namespace', 'shop', '-o', 'json'])).toEqual({
      command: 'explain',
      args: { filenames: ['x.yaml'], namespace: 'shop', namespaceLabels: { 'istio-injection': 'disabled', team: 'a' }, output: 'json', config: {} },
    });
    expect(parseCommandLine(['explain', '-f', 'x.yaml', '--namespace-labels', ''])).toMatchObject({ args: { namespaceLabels: {} } });
    expect(() => parseCommandLine(['explain'])).toThrow(UsageError);
    expect(() => parseCommandLine(['explain', '-f', 'x', '--namespace-labels', 'no-equals'])).toThrow(/key=value/);
    expect(() => parseCommandLine(['explain', '-f', 'x', '-o', 'yaml'])).toThrow(/-o\/--output must be one of text, json/);
  });
});

describe('mesh-webhook explain (the built CLI)', () => {
  let dir: string;
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-explain-'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('-o json: one explanation per pod or workload, every rule deciding once', async () => {
    const file = join(dir, 'all.yaml');
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'not-explained' } };
    writeFileSync(file, [configMap, ...CASES.map((c) => c.object)].map((o) => stringify(o)).join('---\n'));
    const r = await cli(['explain', '-f', file, '-o', 'json', ...SETS.flatMap((s) => ['--set', s])]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Explanation[];
    expect(out).toHaveLength(CASES.length);
    CASES.forEach((c, i) => checkExplanation(out[i], c));
  });

  it('text: the rules in order, the decision, the injector, what to change, the troubleshooting steps', async () => {
    const file = join(dir, 'one.yaml');
    writeFileSync(file, stringify(pod('shop', { labels: { 'sidecar.istio.io/inject': 'false' } })));
    const r = await cli(['explain', '-f', file, '--namespace-labels', 'istio-injection=enabled']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 16)).toEqual([
      'Pod shop/app',
      '  namespace labels: istio-injection=enabled (from the command line)',
      "  served revision: default (from values.revision; Istio's webhooks for it: rev.namespace, rev.object, namespace, object, auto); the sidecar is rendered for revision default (CA_ADDR istiod.istio-system.svc:15012)",
      '  rules, in order:',
      '   1. webhookSelectors            passed       enableNamespacesByDefault: true; pod label sidecar.istio.io/inject=false (decided below)',
      '   2. hostNetwork                 passed       hostNetwork is not set',
      '   3. ignoredNamespace            passed       namespace shop is not a system namespace',
      '   4. excludedNamespace           passed       not excluded',
      '   5. namespaceInjectionDisabled  passed       istio-injection=enabled',
      '   6. gardenerKubeSystem          passed       not a Gardener kube-system namespace',
      '   7. namespaceRevision           passed       no istio.io/rev label',
      '   8. podLabel                    decided      label sidecar.istio.io/inject=false',
      '   9. neverInjectSelector         not reached',
      '  10. alwaysInjectSelector        not reached',
      '  11. policy                      not reached',
      '  decision: skip (rule podLabel: label sidecar.istio.io/inject=false)',
    ]);
    expect(lines).toContain('  injector: not injected (the pod is created without a sidecar)');
    expect(lines).toContain('  to change it: set the pod label sidecar.istio.io/inject: "true"');
    expect(lines).toContain('  troubleshooting:');
    expect(r.stdout).toContain('    1. Check the namespace labels: kubectl get namespace shop --show-labels');
    expect(r.stdout).toContain('    5. Labels and annotations act when a pod is created: after changing them, delete the pod and create it again');
  });

  it('exit 1 without a pod or workload, 2 on a bad command line', async () => {
    const file = join(dir, 'cm.yaml');
    writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }));
    const none = await cli(['explain', '-f', file]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('has no Pod or workload');
    const bad = await cli(['explain', '-f', file, '-o', 'yaml']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('Usage: mesh-webhook explain');
  });
});

describe('POST /explain', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    const view: ClusterView = { namespaceLabels: (ns) => (ns === 'quiet' ? { 'istio-injection': 'disabled' } : undefined), nativeSidecarsSupported: () => undefined };
    server = await startInProcessServer(createRuntime(config, view), { explain: true, logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }) });
  });
  afterAll(() => server.close());
  const logLines: Record<string, unknown>[] = [];

  it('explains the object of an AdmissionReview in the request namespace, with the cluster cache labels', async () => {
    const r = review('e1', pod('') as never, 'quiet');
    const res = await server.postJson('/explain', r);
    expect(res.status).toBe(200);
    const e = res.json as Explanation;
    expect(e.object).toBe('Pod quiet/app');
    expect(e.namespaceLabels).toEqual({ source: 'cluster', labels: { 'istio-injection': 'disabled' } });
    expect(e.decision).toEqual({ inject: false, rule: 'namespaceInjectionDisabled', reason: 'namespace quiet has label istio-injection=disabled' });
    expect(e.change).toBe('kubectl label namespace quiet istio-injection-');
  });

  it.each(CASES)('a bare object: $rule', async (c) => {
    const res = await server.postJson('/explain', c.object);
    expect(res.status).toBe(200);
    checkExplanation(res.json as Explanation, c);
  });

  it('refuses other kinds (400), other content types (415) and other methods (405)', async () => {
    const cm = await server.postJson('/explain', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    expect(cm.status).toBe(400);
    expect((cm.json as { error: string }).error).toContain('not a Pod or a workload');
    const bad = await server.postJson('/explain', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: string }).error).toContain('request is missing');
    expect((await server.request('/explain', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: 'x: 1' })).status).toBe(415);
    const get = await server.request('/explain');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('logs one line per explanation: the object and the decision, never the object itself', async () => {
    const before = logLines.length;
    await server.postJson('/explain', review('e-log', pod('') as never, 'quiet'));
    const lines = logLines.slice(before).filter((l) => l['msg'] === 'explanation');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ uid: 'e-log', kind: 'Pod', namespace: 'quiet', name: 'app', decision: 'skip', rule: 'namespaceInjectionDisabled', outcome: 'skipped' });
    expect(JSON.stringify(lines[0])).not.toContain('containers');
  });

  it('is off unless asked for: 404 naming the flag, and nothing is explained', async () => {
    const off = await startInProcessServer(createRuntime(config));
    try {
      const res = await off.postJson('/explain', review('e-off', pod('') as never, 'quiet'));
      expect(res.status).toBe(404);
      expect((res.json as { error: string }).error).toBe('POST /explain is not enabled on this server (mesh-webhook serve --explain turns it on)');
    } finally {
      await off.close();
    }
  });
});

describe('opt-in injection (values.sidecarInjectorWebhook.enableNamespacesByDefault: false)', () => {
  // Namespace labels known from the configuration, as the namespace cache knows them in a cluster.
  const optIn = loadConfig({
    sets: [
      'values.sidecarInjectorWebhook.enableNamespacesByDefault=false',
      'namespaceLabels={"quiet":{"team":"a"},"meshed":{"istio-injection":"enabled"},"canary":{"istio.io/rev":"canary"},"stable":{"istio.io/rev":"default"}}',
    ],
  });
  const explainer = createExplainer(createInjector(optIn));
  const decide = (object: Obj) => explainer.explain(object)!.decision;

  it('webhookSelectors decides: a namespace that did not opt in, a pod that did not either', () => {
    const e = explainer.explain(pod('quiet'))!;
    expect(e.decision).toEqual({
      inject: false,
      rule: 'webhookSelectors',
      reason: 'opt-in injection: namespace quiet is not labelled istio-injection=enabled (or istio.io/rev=default) and the pod is not labelled sidecar.istio.io/inject=true',
    });
    expect(e.steps.map((s) => s.rule)).toEqual(stepRules(pod('quiet')));
    expect(e.steps[0]).toMatchObject({ rule: 'webhookSelectors', result: 'decided' });
    expect(e.change).toBe('kubectl label namespace quiet istio-injection=enabled, or label the pod sidecar.istio.io/inject: "true"');
    expect(e.injector.outcome).toBe('skipped');
  });

  it("what Istio's webhooks select goes on to Istio's rules", () => {
    expect(decide(pod('meshed'))).toMatchObject({ inject: true, rule: 'policy' });
    expect(explainer.explain(pod('meshed'))!.steps[0]!.detail).toBe("selected by Istio's namespace.sidecar-injector.istio.io webhook");
    expect(decide(pod('quiet', { labels: { 'sidecar.istio.io/inject': 'true' } }))).toMatchObject({ inject: true, rule: 'podLabel' });
    expect(decide(pod('stable'))).toMatchObject({ inject: true, rule: 'policy' });
    expect(decide(pod('quiet', { labels: { 'istio.io/rev': 'default' } }))).toMatchObject({ inject: true, rule: 'policy' });
    // The annotation is not a webhook selector: Istio's webhooks never send such a pod.
    expect(decide(pod('quiet', { annotations: { 'sidecar.istio.io/inject': 'true' } }))).toMatchObject({ inject: false, rule: 'webhookSelectors' });
    // Another revision's namespace: no webhook of ours selects it.
    expect(decide(pod('canary'))).toMatchObject({ inject: false, rule: 'webhookSelectors' });
    // A pod that opts out is decided by its label, as without opt-in.
    expect(decide(pod('meshed', { labels: { 'sidecar.istio.io/inject': 'false' } }))).toMatchObject({ inject: false, rule: 'podLabel' });
  });

  it("namespace labels unknown (the CLI without them, no cluster): Istio's decision, as its golden cases expect", () => {
    const e = explainer.explain(pod('elsewhere'))!;
    expect(e.steps[0]).toMatchObject({ rule: 'webhookSelectors', result: 'passed', detail: "namespace labels unknown: Istio's decision" });
    expect(e.decision).toMatchObject({ inject: true, rule: 'policy' });
  });

  it('the injector decides the same (it is the same rule)', () => {
    const injector = createInjector(optIn);
    expect(injector.inject({ pod: pod('quiet') as never })).toMatchObject({ kind: 'skipped', rule: 'webhookSelectors' });
    expect(injector.inject({ pod: pod('meshed') as never }).kind).toBe('injected');
  });
});
