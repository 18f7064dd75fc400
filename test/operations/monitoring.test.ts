/**
 * manifests/components/monitoring: renders (with the kyma overlay) into valid PodMonitor, PrometheusRule and dashboard
 * ConfigMap objects; every metric an alert or a dashboard panel queries exists in a running server's /metrics, with the
 * labels it matches on; the PodMonitor scrapes the port the server's metrics listener uses.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { parser } from '@prometheus-io/lezer-promql';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { samplePod } from '../../src/admission/sample.js';
import { parseCommandLine } from '../../src/cli/args.js';
import { loadConfig } from '../../src/config/load.js';
import { ADMISSION_OUTCOMES, createMetrics, trackClusterCache } from '../../src/metrics.js';
import { recordCertificateExpiry } from '../../src/reload/certificates.js';
import { createRuntime } from '../../src/server/runtime.js';
import { DEFAULT_METRICS_PORT } from '../../src/server/metricsListener.js';
import type { OverloadGuard } from '../../src/server/overload.js';
import { startTestServer, testCertificates } from '../helpers/https.js';
import { parseMetrics, podWith, review, root, type Scrape } from './helpers.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
/** Labels Prometheus adds to every scraped series (target labels): not in /metrics, so not checked there. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'container', 'job', 'instance', 'endpoint_port']);

let objects: Obj[];
let scrape: Scrape;
const tmp = mkdtempSync(join(tmpdir(), 'mesh-webhook-monitoring-'));

function render(): Obj[] {
  // kustomize refuses absolute paths: refer to the overlay and the component relative to a temporary kustomization.
  const rel = (p: string) => relative(tmp, join(root, p));
  writeFileSync(
    join(tmp, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel('manifests/overlays/kyma')}\ncomponents:\n  - ${rel('manifests/components/monitoring')}\n`,
  );
  const r = spawnSync(KUBECTL, ['kustomize', tmp], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) throw new Error(`kubectl kustomize failed: ${r.stderr || r.error?.message}`);
  expect(r.stderr.trim()).toBe('');
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
}

beforeAll(async () => {
  objects = render();
  // A server with every kind of sample: admissions of each outcome, a certificate, a cluster cache.
  const metrics = createMetrics();
  trackClusterCache(metrics, () => ({
    namespaces: 3,
    nodes: 1,
    informers: { namespaces: { synced: true, connected: true, lastSyncTime: Date.now() }, nodes: { synced: true, connected: true, lastSyncTime: Date.now() } },
  }));
  recordCertificateExpiry(metrics, (await testCertificates()).cert);
  // The overload guard sees a (simulated) event-loop delay only once `overloaded` is set: then it sheds.
  let overloaded = false;
  const server = await startTestServer(createRuntime(loadConfig({})), {
    metrics,
    overload: { registry: metrics.registry, intervalMs: 10, eventLoopDelayMs: () => (overloaded ? 10_000 : 0) },
  });
  const guard: OverloadGuard | undefined = server.app.overloadGuard;
  try {
    await server.postJson('/inject', review('m1'));
    await server.postJson('/inject', review('m2', podWith({ hostNetwork: true })));
    await server.postJson('/inject', review('m3', podWith({ annotations: { 'sidecar.istio.io/interceptionMode': 'X' } })));
    await server.request('/inject', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    const reserved = samplePod();
    reserved.spec!.containers![0]!.ports = [{ containerPort: 15001 }]; // MW0101: a finding for the findings counter
    await server.postJson('/validate', review('m4', reserved));
    overloaded = true;
    while (guard!.state().shedRatio < 1) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse((await server.postJson('/inject', review('m5'))).text).response).toMatchObject({ allowed: false, status: { code: 429 } });
    scrape = parseMetrics((await server.request('/metrics')).text);
  } finally {
    await server.close();
  }
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function one(kind: string, name = 'mesh-webhook'): Obj {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0]!;
}

interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

/** The vector selectors of a PromQL expression; fails on a syntax error. Grafana's range variables become 5m/1h. */
function selectors(expr: string): Selector[] {
  const text = expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h');
  const tree = parser.parse(text);
  const out: Selector[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.type.name !== 'VectorSelector') return;
      const sel: Selector = { metric: '', matchers: [] };
      const id = node.node.getChild('Identifier');
      if (id) sel.metric = text.slice(id.from, id.to);
      for (const m of node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = m.getChild('LabelName')!;
        const op = m.getChild('MatchOp')!;
        const value = m.getChild('StringLiteral')!;
        sel.matchers.push({ label: text.slice(label.from, label.to), op: text.slice(op.from, op.to), value: JSON.parse(text.slice(value.from, value.to)) as string });
      }
      out.push(sel);
    },
  });
  expect(errors, `PromQL syntax errors in: ${expr}`).toEqual([]);
  return out;
}

/** The metric family of a series name (histograms: _bucket, _sum, _count). */
function family(name: string): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return scrape.types.get(base) === 'histogram' ? base : name;
}

/** Every selector names a metric the server exports, matching only on labels (and label values) its samples carry. */
function checkExpression(expr: string): void {
  const sels = selectors(expr);
  expect(sels.length, `no metric in ${expr}`).toBeGreaterThan(0);
  for (const s of sels) {
    expect(scrape.types.has(family(s.metric)), `${s.metric} (in ${expr}) is not exported`).toBe(true);
    const samples = scrape.samples.filter((x) => x.name === s.metric);
    expect(samples.length, `${s.metric} has no samples`).toBeGreaterThan(0);
    for (const m of s.matchers) {
      if (TARGET_LABELS.has(m.label)) continue;
      expect(samples.some((x) => m.label in x.labels), `${s.metric} has no label ${m.label}`).toBe(true);
      if (m.op === '=') expect(samples.some((x) => x.labels[m.label] === m.value), `${s.metric}{${m.label}="${m.value}"} has no sample`).toBe(true);
      if (m.op === '=~' && m.label === 'outcome') {
        for (const alt of m.value.split('|')) expect(ADMISSION_OUTCOMES as readonly string[], `outcome ${alt}`).toContain(alt);
      }
    }
  }
}

describe('monitoring component', () => {
  it('renders valid PodMonitor, PrometheusRule and dashboard ConfigMap objects', () => {
    for (const [kind, Model] of [
      ['PodMonitor', PodMonitor],
      ['PrometheusRule', PrometheusRule],
    ] as const) {
      const o = one(kind);
      expect(o.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(o.metadata.namespace).toBe('mesh-webhook');
      expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'mesh-webhook' });
      new Model(o as never).validate();
    }
    const cm = one('ConfigMap', 'mesh-webhook-dashboard');
    new ConfigMap(cm as never).validate();
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
  });

  it('PodMonitor scrapes the plain-HTTP metrics port the server listens on by default', () => {
    const pm = one('PodMonitor');
    expect(pm.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'mesh-webhook' } });
    expect(pm.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' }]);
    const deployment = one('Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: DEFAULT_METRICS_PORT, protocol: 'TCP' });
    expect(deployment.spec.template.metadata.labels).toMatchObject(pm.spec.selector.matchLabels);
    const inv = parseCommandLine(container.args);
    expect(inv.command).toBe('serve');
    expect((inv as { args: { metricsPort?: number } }).args.metricsPort ?? DEFAULT_METRICS_PORT).toBe(DEFAULT_METRICS_PORT);
  });

  it('PrometheusRule: the alerts of docs/operating.md, each on metrics the server exports', () => {
    const rules = one('PrometheusRule').spec.groups.flatMap((g: any) => g.rules) as { alert: string; expr: string; for?: string; labels: Record<string, string> }[];
    expect(rules.map((r) => `${r.alert} ${r.for ?? '-'} ${r.labels.severity}`)).toEqual([
      'MeshWebhookAdmissionLatencyHigh 5m warning',
      'MeshWebhookAdmissionErrors 10m critical',
      'MeshWebhookOverloaded 5m warning',
      'MeshWebhookRejectionRateHigh 15m warning',
      'MeshWebhookCertificateExpiringSoon 10m warning',
      'MeshWebhookConfigReloadFailed - warning',
      'MeshWebhookCertificateReloadFailed - warning',
      'MeshWebhookClusterCacheNotWatching 15m warning',
    ]);
    // docs/operating.md, "Alerts and dashboard": the same alerts, in the same order, with the same for and severity.
    const documented = readFileSync(join(root, 'docs', 'operating.md'), 'utf8')
      .split('\n')
      .filter((line) => /^\| `MeshWebhook\w+` \|/.test(line))
      .map((line) => line.slice(1, -1).split('|').map((cell) => cell.trim()))
      .map(([alert, , forDuration, severity]) => `${alert!.replace(/`/g, '')} ${forDuration || '-'} ${severity}`);
    expect(documented).toEqual(rules.map((r) => `${r.alert} ${r.for ?? '-'} ${r.labels.severity}`));
    const byName = new Map(rules.map((r) => [r.alert, r.expr]));
    expect(byName.get('MeshWebhookAdmissionLatencyHigh')).toContain('histogram_quantile(0.99,');
    expect(byName.get('MeshWebhookAdmissionLatencyHigh')).toMatch(/> 1$/);
    expect(byName.get('MeshWebhookCertificateExpiringSoon')).toContain('< 14 * 24 * 3600');
    for (const r of rules) checkExpression(r.expr);
  });

  it('the check catches a metric that does not exist', () => {
    expect(() => checkExpression('rate(mesh_webhook_no_such_metric_total[5m])')).toThrow(/is not exported/);
    expect(() => checkExpression('rate(mesh_webhook_admission_requests_total{verdict="x"}[5m])')).toThrow(/has no label verdict/);
    expect(() => checkExpression('sum(rate(mesh_webhook_admission_requests_total[5m]')).toThrow(/syntax errors/);
  });

  it('dashboard: the panels of docs/operating.md, each query on metrics the server exports', () => {
    const cm = one('ConfigMap', 'mesh-webhook-dashboard');
    const dashboard = JSON.parse(cm.data['mesh-webhook.json']) as { uid: string; panels: { type: string; title: string; targets?: { expr: string }[] }[] };
    expect(dashboard.uid).toBe('mesh-webhook');
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    expect(panels.map((p) => p.title)).toEqual([
      'Admission requests by outcome',
      'Admission latency p50 / p99',
      'Skipped pods by rule',
      'Rejections and errors by reason',
      'Validation findings by code',
      'Certificate expires in',
      'Configuration and certificate reloads',
      'Cluster cache: synced and watching',
      'Cluster cache: objects and staleness',
      'CPU',
      'Memory (resident)',
      'Event loop lag p99',
    ]);
    const ids = dashboard.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) checkExpression(t.expr);
    }
  });
});
