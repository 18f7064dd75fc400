/**
 * `--profile kyma-module` against the Kyma Istio module's own files (test/fixtures/kyma-module, see its NOTICE).
 *
 * The fixtures `<workload>.<size>.injected.yaml` are what Istio's injector makes of each workload with the module's
 * IstioOperator of that size: the files are read here as Istio's installer reads them (spec.values and spec.meshConfig,
 * with spec.hub/spec.tag and components.cni.enabled translated to values.global and values.pilot.cni.enabled) and given
 * to the `istio` profile, which renders Istio's own sidecar template (its golden cases: test/conformance). The profile
 * must inject exactly that, without those files. Both run through the CLI. The nodes are taken as Kubernetes 1.33+
 * (Istio's native-sidecar `auto` then injects native sidecars): `--native-sidecars true` on both sides.
 *
 * Regenerate the fixtures after a module or Istio update: UPDATE_KYMA_MODULE_FIXTURES=1 npx vitest run
 * test/inject/kymaModule.test.ts, and review the diff.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { deepMerge } from '../../src/config/merge.js';
import type { Container, JsonObject } from '../../src/k8s/types.js';
import { root } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';

const FIXTURES = join(root, 'test/fixtures/kyma-module');
const OPERATOR_FILES = { production: 'istio-operator.yaml', evaluation: 'istio-operator-light.yaml' } as const;
type Size = keyof typeof OPERATOR_FILES;
const SIZES = Object.keys(OPERATOR_FILES) as Size[];
const WORKLOADS = ['deployment-probes', 'job', 'pod-resource-annotations'] as const;
const UPDATE = process.env.UPDATE_KYMA_MODULE_FIXTURES === '1';

const work = mkdtempSync(join(tmpdir(), 'mesh-webhook-kyma-module-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The IstioOperator's values and meshConfig as `--values`/`--mesh` files, translated as Istio's installer does. */
function istioOperatorFlags(size: Size): string[] {
  const spec = (parse(readFileSync(join(FIXTURES, OPERATOR_FILES[size]), 'utf8')) as { spec: JsonObject }).spec;
  const components = spec.components as { cni?: { enabled?: boolean } };
  const translated: JsonObject = { global: { hub: spec.hub as string, tag: String(spec.tag) }, pilot: { cni: { enabled: components.cni?.enabled === true } } };
  const values = join(work, `${size}-values.yaml`);
  const mesh = join(work, `${size}-mesh.yaml`);
  writeFileSync(values, stringify(deepMerge(spec.values as JsonObject, translated)));
  writeFileSync(mesh, stringify(spec.meshConfig));
  return ['--profile', 'istio', '--values', values, '--mesh', mesh];
}

function inject(flags: string[], workload: string): string {
  const run = runCli(['inject', ...flags, '--native-sidecars', 'true', '-f', join(FIXTURES, `${workload}.input.yaml`)]);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout;
}

const cases = SIZES.flatMap((size) => WORKLOADS.map((workload) => ({ size, workload })));

describe.each(cases)('$workload, $size size', ({ size, workload }) => {
  const fixture = join(FIXTURES, `${workload}.${size}.injected.yaml`);

  it("Istio's injector with the module's IstioOperator injects the fixture", () => {
    const fromModuleFiles = inject(istioOperatorFlags(size), workload);
    if (UPDATE) writeFileSync(fixture, fromModuleFiles);
    expect(fromModuleFiles).toBe(readFileSync(fixture, 'utf8'));
  });

  it("the module's IstioOperator read as it is (--operatorFileName, over Istio's defaults) injects the same", () => {
    expect(inject(['--profile', 'istio', '--operatorFileName', join(FIXTURES, OPERATOR_FILES[size])], workload)).toBe(readFileSync(fixture, 'utf8'));
  });

  it('--profile kyma-module injects the same, without the module files', () => {
    expect(inject(['--profile', 'kyma-module', '--cluster-size', size], workload)).toBe(readFileSync(fixture, 'utf8'));
  });
});

/** The injected pod spec of a fixture (a Pod, or a workload's template). */
function injectedSpec(workload: string, size: Size): { annotations: Record<string, string>; init: Container[]; containers: Container[] } {
  const doc = parseAllDocuments(readFileSync(join(FIXTURES, `${workload}.${size}.injected.yaml`), 'utf8'))[0]!.toJS() as JsonObject;
  const pod = (doc.kind === 'Pod' ? doc : (doc.spec as { template: JsonObject }).template) as { metadata: { annotations: Record<string, string> }; spec: { initContainers: Container[]; containers: Container[] } };
  return { annotations: pod.metadata.annotations, init: pod.spec.initContainers, containers: pod.spec.containers };
}

const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

describe('what the module injects, field by field (the facts docs/configuration.md lists)', () => {
  it.each<[Size, object]>([
    ['production', { requests: { cpu: '10m', memory: '192Mi' }, limits: { cpu: '1', memory: '1Gi' } }],
    ['evaluation', { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '250m', memory: '254Mi' } }],
  ])('%s size: istio-proxy resources', (size, resources) => {
    const proxy = injectedSpec('deployment-probes', size).init.find((c) => c.name === 'istio-proxy')!;
    expect(proxy.resources).toEqual(resources);
  });

  it('resource annotations replace the size, in both sizes', () => {
    for (const size of SIZES) {
      const proxy = injectedSpec('pod-resource-annotations', size).init.find((c) => c.name === 'istio-proxy')!;
      expect(proxy.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    }
  });

  it('CNI: the unprivileged istio-validation, no istio-init; the restricted security context', () => {
    const { init } = injectedSpec('deployment-probes', 'production');
    expect(init.map((c) => c.name)).toEqual(['istio-validation', 'istio-proxy']);
    const validation = init[0]!;
    expect(validation.args).toContain('--run-validation');
    expect(validation.securityContext).toMatchObject({ runAsNonRoot: true, capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } });
    expect(validation.resources).toEqual({ requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '100m', memory: '50Mi' } });
  });

  it('image, pull policy, log levels, readiness 5/15/14 and the startup probe', () => {
    const proxy = injectedSpec('deployment-probes', 'production').init.find((c) => c.name === 'istio-proxy')!;
    expect(proxy.image).toBe('europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30.2-distroless');
    expect(proxy.imagePullPolicy).toBe('IfNotPresent');
    expect(proxy.args).toEqual(expect.arrayContaining(['--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=all:warn']));
    expect(proxy.readinessProbe).toMatchObject({ initialDelaySeconds: 5, periodSeconds: 15, failureThreshold: 14 });
    expect(proxy.startupProbe).toMatchObject({ failureThreshold: 600 });
    expect(proxy.securityContext).toMatchObject({ seccompProfile: { type: 'RuntimeDefault' } });
  });

  it('proxyMetadata, tracing without Zipkin and the canonical service name, no Prometheus merge', () => {
    const { annotations, init } = injectedSpec('deployment-probes', 'production');
    const env = envOf(init.find((c) => c.name === 'istio-proxy')!);
    expect(env).toMatchObject({ BOOTSTRAP_XDS_AGENT: 'true', WORKLOAD_RSA_KEY_SIZE: '3072', CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE: '4096' });
    const proxyConfig = JSON.parse(env.PROXY_CONFIG as string) as JsonObject;
    expect(proxyConfig).toMatchObject({ tracingServiceName: 'CANONICAL_NAME_ONLY', holdApplicationUntilProxyStarts: true });
    expect(JSON.stringify(proxyConfig)).not.toContain('zipkin');
    expect(Object.keys(annotations).filter((a) => a.startsWith('prometheus.io/'))).toEqual([]);
    expect(annotations['sidecar.istio.io/statsEvictionInterval']).toBe('6h');
  });

  it('the application probes go through the agent; the Job keeps its restart policy and can finish', () => {
    const app = injectedSpec('deployment-probes', 'production').containers.find((c) => c.name === 'orders')!;
    expect(app.readinessProbe).toMatchObject({ httpGet: { path: '/app-health/orders/readyz', port: 15020 } });
    expect(app.livenessProbe).toMatchObject({ httpGet: { path: '/app-health/orders/livez', port: 15020 } });
    const job = injectedSpec('job', 'production');
    // A native sidecar (an init container with restartPolicy Always) ends with the Job's pod.
    expect(job.init.find((c) => c.name === 'istio-proxy')?.restartPolicy).toBe('Always');
  });
});
