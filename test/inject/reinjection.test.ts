/**
 * Re-injection (the webhook is registered with `reinvocationPolicy: IfNeeded`, so the API server may send it a pod it
 * already injected): through the real HTTPS webhook, with the answer's JSON Patch applied (fast-json-patch) to the pod
 * that was sent, as the API server does.
 *
 * Istio's rule (pkg/kube/inject/inject.go RunTemplate, webhook.go injectPod, reapplyOverwrittenContainers): the template
 * is rendered from the pod without its earlier injection (stripPod) with the recorded `proxy.istio.io/overrides` put
 * back (reinsertOverrides), and merged onto the pod as received, earlier injection included; a template container the
 * earlier injection listed in the same list of `sidecar.istio.io/status` is not overridden again (the new template
 * wins, fields it does not set stay); any other is overridden by the recorded override or the received pod's container.
 *
 * - Idempotence: injecting the injected pod again gives the same pod, for the kyma and istio profiles, native and
 *   classic sidecars, Istio CNI, rewritten probes (the probers handed to the proxy are the application's, not the
 *   rewritten ones), and the prometheus metrics merge (the proxy keeps ISTIO_PROMETHEUS_ANNOTATIONS). A pod that
 *   declares its own istio-proxy keeps its env on re-injection but gets the template's resources again, as in Istio.
 * - Configuration change: a pod injected under an older configuration (other tag, other resources, classic sidecar,
 *   no CNI) and injected again under the current one: in the same sidecar mode it gets the current values, exactly
 *   what injecting the original pod gives; moved to a native sidecar, the earlier classic proxy is merged onto the
 *   native one (its image and resources stay) and, with CNI, the earlier istio-init stays, as Istio does.
 * - Istio's own output (test/fixtures/istio golden of pod.yaml, classic sidecar) injected again with the conformance
 *   configuration stays as it is.
 *
 * Expected values are written literally (images, resources, the probers JSON).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import type { Container, Pod } from '../../src/k8s/types.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, container, env } from './review.js';

const NS = 'shop';
const KYMA_PROXY_IMAGE = 'europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30.2-distroless';
const OLD_PROXY_IMAGE = 'europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.29.0-distroless';
const KYMA_PROXY_RESOURCES = { requests: { cpu: '20m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };
const OLD_PROXY_RESOURCES = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '1Gi' } };
/** The proxy resources the template renders, per profile. */
const KYMA_OR_ISTIO_RESOURCES = {
  kyma: KYMA_PROXY_RESOURCES,
  istio: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } },
};

/** The configurations under test, one webhook server each. */
const CONFIGS: Record<string, LoadConfigOptions> = {
  'kyma native': { profile: 'kyma' },
  'kyma classic': { profile: 'kyma', nativeSidecars: false },
  'kyma native CNI': { profile: 'kyma', sets: ['values.pilot.cni.enabled=true'] },
  'kyma classic CNI': { profile: 'kyma', nativeSidecars: false, sets: ['values.pilot.cni.enabled=true'] },
  'istio native': { profile: 'istio' },
  'istio classic': { profile: 'istio', nativeSidecars: false },
  'istio classic CNI': { profile: 'istio', nativeSidecars: false, sets: ['values.pilot.cni.enabled=true'] },
  // An older configuration of the kyma profile: other tag, other proxy resources, classic sidecars, no CNI.
  'kyma old': {
    profile: 'kyma',
    nativeSidecars: false,
    sets: [
      'values.global.tag="1.29.0-distroless"',
      'values.global.proxy.resources={"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"cpu":"1","memory":"1Gi"}}',
      'values.global.proxy_init.resources={"requests":{"cpu":"5m","memory":"5Mi"},"limits":{"cpu":"50m","memory":"20Mi"}}',
    ],
  },
};

const servers = new Map<string, TestServer>();
beforeAll(async () => {
  for (const [name, options] of Object.entries(CONFIGS)) servers.set(name, await startTestServer(createRuntime(loadConfig(options))));
});
afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.close()));
});

/** The pod after the webhook's patch, requiring `allowed: true`. */
async function inject(config: string, pod: Pod): Promise<Pod> {
  const answer = await admitPod(servers.get(config)!, pod, NS);
  if (!answer.allowed) throw new Error(`${config}: not allowed: ${answer.message}`);
  return answer.pod;
}

// ---- pods ---------------------------------------------------------------------------------------------------------

/** An application pod with probes of every kind, a user init container and a volume. */
function appPod(): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: NS, labels: { app: 'web' } },
    spec: {
      initContainers: [{ name: 'migrate', image: 'example.com/migrate:1' }],
      containers: [
        {
          name: 'web',
          image: 'example.com/web:1',
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'grpc', containerPort: 9090 },
          ],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
          livenessProbe: { tcpSocket: { port: 8080 } },
          startupProbe: { grpc: { port: 9090 } },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  };
}

/** The application pod declaring its own istio-proxy: extra env and more memory (Istio's user overrides). */
function podWithOwnProxy(): Pod {
  const pod = appPod();
  pod.spec!.containers!.push({
    name: 'istio-proxy',
    image: 'auto',
    env: [{ name: 'EXTRA_FLAG', value: 'on' }],
    resources: { limits: { memory: '512Mi' } },
  } as Container);
  return pod;
}

/** The application pod with the prometheus.io annotations of its metrics endpoint. */
function podWithMetrics(): Pod {
  const pod = appPod();
  pod.metadata!.annotations = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102', 'prometheus.io/path': '/metrics' };
  return pod;
}

// ---- checks -------------------------------------------------------------------------------------------------------

function duplicates(values: readonly string[]): string[] {
  return values.filter((v, i) => values.indexOf(v) !== i);
}

/** Names that must be unique in a pod: containers, init containers, volumes, and per container env, mounts, ports. */
function expectNothingDuplicated(pod: Pod): void {
  const spec = pod.spec!;
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  expect(duplicates(all.map((c) => c.name)), 'container names').toEqual([]);
  expect(duplicates((spec.volumes ?? []).map((v) => v.name)), 'volume names').toEqual([]);
  for (const c of all) {
    expect(duplicates((c.env ?? []).map((e) => e.name)), `env of ${c.name}`).toEqual([]);
    expect(duplicates((c.volumeMounts ?? []).map((m) => m.mountPath)), `mounts of ${c.name}`).toEqual([]);
    expect(duplicates((c.ports ?? []).map((p) => String(p.containerPort))), `ports of ${c.name}`).toEqual([]);
  }
  const status = JSON.parse(pod.metadata!.annotations!['sidecar.istio.io/status']!) as Record<string, string[] | null>;
  for (const list of ['initContainers', 'containers', 'volumes'] as const) expect(duplicates(status[list] ?? []), `status ${list}`).toEqual([]);
}

/** The proxy, wherever it runs. */
function proxy(pod: Pod): Container {
  const c = container(pod, 'istio-proxy');
  if (!c) throw new Error('no istio-proxy');
  return c;
}

/** What the proxy is told about the application's probes (the originals, with named ports resolved). */
const APP_PROBERS = {
  '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8080 } },
  '/app-health/web/livez': { tcpSocket: { port: 8080 } },
  '/app-health/web/startupz': { grpc: { port: 9090, service: null } },
};

// ---- idempotence --------------------------------------------------------------------------------------------------

const IDEMPOTENCE = ['kyma native', 'kyma classic', 'kyma native CNI', 'kyma classic CNI', 'istio native', 'istio classic', 'istio classic CNI'];

describe.each(IDEMPOTENCE)('%s: injecting the injected pod again gives the same pod', (config) => {
  const native = !config.includes('classic');
  const cni = config.includes('CNI');

  it('application pod with probes, a user init container and a volume', async () => {
    const first = await inject(config, appPod());
    const second = await inject(config, first);
    expect(second).toEqual(first);
    expectNothingDuplicated(second);
    // Sanity: it was injected the way the configuration says.
    expect(native ? second.spec!.initContainers!.some((c) => c.name === 'istio-proxy') : second.spec!.containers!.some((c) => c.name === 'istio-proxy')).toBe(true);
    expect(second.spec!.initContainers!.map((c) => c.name)).toContain(cni ? 'istio-validation' : 'istio-init');
    expect(second.spec!.initContainers!.map((c) => c.name)).not.toContain(cni ? 'istio-init' : 'istio-validation');
  });

  it('probes: rewritten once; the proxy keeps the application probes, not the rewritten ones', async () => {
    const first = await inject(config, appPod());
    const second = await inject(config, first);
    expect(JSON.parse(env(proxy(second), 'ISTIO_KUBE_APP_PROBERS')!)).toEqual(APP_PROBERS);
    const web = container(second, 'web')!;
    expect(web.readinessProbe).toEqual({ httpGet: { path: '/app-health/web/readyz', port: 15020 }, periodSeconds: 5 });
    expect(web.livenessProbe).toEqual({ httpGet: { path: '/app-health/web/livez', port: 15020 } });
    expect(web.startupProbe).toEqual({ httpGet: { path: '/app-health/web/startupz', port: 15020 } });
    // And a third time, for good measure.
    expect(await inject(config, second)).toEqual(second);
  });

  // Istio re-renders the template from the pod without its earlier injection and merges it onto the pod as received;
  // istio-proxy is listed in the earlier status, so the recorded overrides are not merged on top again
  // (reapplyOverwrittenContainers skips it): the user's env stays (the template does not set EXTRA_FLAG), the
  // template's memory limit (128Mi) replaces the user's 512Mi. Everything else stays as it was, env order included.
  it('a pod that declares its own istio-proxy (extra env, more memory): the env stays, once; the template\'s resources come back, as in Istio', async () => {
    const first = await inject(config, podWithOwnProxy());
    const second = await inject(config, first);
    expectNothingDuplicated(second);
    for (const pod of [first, second]) {
      const p = proxy(pod);
      expect((p.env ?? []).filter((e) => e.name === 'EXTRA_FLAG')).toEqual([{ name: 'EXTRA_FLAG', value: 'on' }]);
      expect(p.image).not.toBe('auto');
      // Exactly one istio-proxy in the whole pod.
      const all = [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers!];
      expect(all.filter((c) => c.name === 'istio-proxy')).toHaveLength(1);
    }
    const rendered = KYMA_OR_ISTIO_RESOURCES[config.startsWith('kyma') ? 'kyma' : 'istio'];
    expect(proxy(first).resources).toEqual({ requests: rendered.requests, limits: { cpu: rendered.limits.cpu, memory: '512Mi' } });
    expect(proxy(second).resources).toEqual(rendered);
  });

  it('a pod that declares its own istio-proxy: the same pod but for the memory limit (env order included), then stable', async () => {
    const first = await inject(config, podWithOwnProxy());
    const second = await inject(config, first);
    const expected = structuredClone(first);
    (proxy(expected).resources as { limits: Record<string, string> }).limits.memory = KYMA_OR_ISTIO_RESOURCES[config.startsWith('kyma') ? 'kyma' : 'istio'].limits.memory;
    expect(second).toEqual(expected);
    expect(await inject(config, second)).toEqual(second);
  });
});

describe('prometheus metrics merge (istio profile: merge on)', () => {
  it.each(['istio native', 'istio classic'])('%s: merged once; the annotations point at the proxy', async (config) => {
    const first = await inject(config, podWithMetrics());
    const second = await inject(config, first);
    const expectedAnnotations = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus' };
    expect(first.metadata!.annotations).toMatchObject(expectedAnnotations);
    expect(second.metadata!.annotations).toMatchObject(expectedAnnotations);
    expectNothingDuplicated(second);
    expect(second).toEqual(first);
  });

  // Istio merges the template onto the pod as received: the earlier proxy's ISTIO_PROMETHEUS_ANNOTATIONS (the
  // application's scrape endpoint) stays, though the prometheus.io annotations now point at the proxy and
  // applyPrometheusMerge leaves the pod alone (webhook.go applyPrometheusMerge: port already the status port).
  it.each(['istio native', 'istio classic'])('%s: the proxy still scrapes the application after re-injection', async (config) => {
    const first = await inject(config, podWithMetrics());
    expect(env(proxy(first), 'ISTIO_PROMETHEUS_ANNOTATIONS')).toBe('{"scrape":"true","path":"/metrics","port":"9102"}');
    const second = await inject(config, first);
    expect(env(proxy(second), 'ISTIO_PROMETHEUS_ANNOTATIONS')).toBe('{"scrape":"true","path":"/metrics","port":"9102"}');
    expect(second).toEqual(first);
  });
});

// ---- configuration change -----------------------------------------------------------------------------------------

describe('a pod injected under an older configuration, injected again under the current one', () => {
  it('the older injection is what we think it is (tag 1.29.0, its resources, classic, istio-init)', async () => {
    const old = await inject('kyma old', appPod());
    const p = proxy(old);
    expect(p.image).toBe(OLD_PROXY_IMAGE);
    expect(p.resources).toEqual(OLD_PROXY_RESOURCES);
    expect(old.spec!.containers!.map((c) => c.name)).toEqual(['istio-proxy', 'web']);
    expect(old.spec!.initContainers!.map((c) => c.name)).toEqual(['migrate', 'istio-init']);
    expect(container(old, 'istio-init')!.resources).toEqual({ requests: { cpu: '5m', memory: '5Mi' }, limits: { cpu: '50m', memory: '20Mi' } });
  });

  it('now kyma classic: the current values, the same pod as a fresh injection, nothing duplicated', async () => {
    const old = await inject('kyma old', appPod());
    const again = await inject('kyma classic', old);
    expect(again).toEqual(await inject('kyma classic', appPod()));
    expectNothingDuplicated(again);
    const p = proxy(again);
    expect(p.image).toBe(KYMA_PROXY_IMAGE);
    expect(p.resources).toEqual(KYMA_PROXY_RESOURCES);
    expect(again.spec!.initContainers!.map((c) => c.name)).toEqual(['migrate', 'istio-init']);
    expect(again.spec!.containers!.map((c) => c.name)).toEqual(['istio-proxy', 'web']);
    expect(container(again, 'istio-init')!.resources).toEqual({ requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '100m', memory: '50Mi' } });
    expect(JSON.parse(env(p, 'ISTIO_KUBE_APP_PROBERS')!)).toEqual(APP_PROBERS);
    expect(JSON.stringify(again)).not.toContain('1.29.0');
  });

  // The native proxy is an init container, which the earlier status does not list among its init containers: Istio
  // (reapplyOverwrittenContainers) merges the earlier classic istio-proxy of the received pod onto it, as it would a
  // user's declaration, so its image and resources stay. With CNI the template has istio-validation, not istio-init,
  // and the earlier istio-init of the received pod is left where it is (the merge starts from the received pod).
  it.each(['kyma native', 'kyma native CNI'])('now %s: the earlier classic proxy is merged onto the native one, as Istio does', async (config) => {
    const old = await inject('kyma old', appPod());
    const again = await inject(config, old);
    expectNothingDuplicated(again);
    const p = proxy(again);
    expect(p.image).toBe(OLD_PROXY_IMAGE);
    expect(p.resources).toEqual(OLD_PROXY_RESOURCES);
    expect((p as { restartPolicy?: string }).restartPolicy).toBe('Always');
    expect(again.spec!.containers!.map((c) => c.name)).toEqual(['web']);
    const init = again.spec!.initContainers!.map((c) => `${c.name}:${c.image}`);
    expect(init).toEqual(
      config === 'kyma native'
        ? [`istio-init:${KYMA_PROXY_IMAGE}`, `istio-proxy:${OLD_PROXY_IMAGE}`, 'migrate:example.com/migrate:1']
        : [`istio-init:${OLD_PROXY_IMAGE}`, `istio-validation:${KYMA_PROXY_IMAGE}`, `istio-proxy:${OLD_PROXY_IMAGE}`, 'migrate:example.com/migrate:1'],
    );
    expect(JSON.parse(env(p, 'ISTIO_KUBE_APP_PROBERS')!)).toEqual(APP_PROBERS);
    expect(JSON.parse(again.metadata!.annotations!['sidecar.istio.io/status']!)).toMatchObject({
      initContainers: [config.includes('CNI') ? 'istio-validation' : 'istio-init', 'istio-proxy'],
      containers: null,
    });
    // Injected once more: the proxy is now listed among the status's init containers, so the template wins.
    const third = proxy(await inject(config, again));
    expect(third.image).toBe(KYMA_PROXY_IMAGE);
    expect(third.resources).toEqual(KYMA_PROXY_RESOURCES);
  });

  it('with its own istio-proxy, same sidecar mode (classic): the env stays once; the template\'s resources, as in Istio', async () => {
    const old = await inject('kyma old', podWithOwnProxy());
    const again = await inject('kyma classic', old);
    expectNothingDuplicated(again);
    const p = proxy(again);
    expect(p.image).toBe(KYMA_PROXY_IMAGE);
    expect((p.env ?? []).filter((e) => e.name === 'EXTRA_FLAG')).toEqual([{ name: 'EXTRA_FLAG', value: 'on' }]);
    expect(p.resources).toEqual(KYMA_PROXY_RESOURCES);
    expect(again.spec!.containers!.filter((c) => c.name === 'istio-proxy')).toHaveLength(1);
  });

  // Classic then native: the earlier proxy (with the user's env and memory limit in it) is merged onto the native one.
  it('with its own istio-proxy, classic then native: the earlier proxy, user overrides included, is merged onto the native one', async () => {
    const old = await inject('kyma old', podWithOwnProxy());
    const again = await inject('kyma native', old);
    expectNothingDuplicated(again);
    const p = proxy(again);
    expect((p.env ?? []).filter((e) => e.name === 'EXTRA_FLAG')).toEqual([{ name: 'EXTRA_FLAG', value: 'on' }]);
    expect(p.image).toBe(OLD_PROXY_IMAGE);
    expect(p.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    expect(again.spec!.initContainers!.map((c) => c.name)).toEqual(['istio-init', 'istio-proxy', 'migrate']);
  });
});

// ---- Istio's own output -------------------------------------------------------------------------------------------

describe("Istio's injected pod (conformance golden pod-old-version.yaml.injected: pod.yaml, classic sidecar)", () => {
  const root = path.resolve(import.meta.dirname, '../..');
  let conformance: TestServer;
  beforeAll(async () => {
    conformance = await startTestServer(
      createRuntime(
        loadConfig({
          profile: 'istio',
          valuesFiles: [path.join(root, 'test/fixtures/istio/defaults/values.yaml')],
          meshFiles: [path.join(root, 'test/fixtures/istio/defaults/mesh.yaml')],
          nativeSidecars: false,
        }),
      ),
    );
  });
  afterAll(() => conformance?.close());

  it('injected again by mesh-webhook, it stays as Istio made it', async () => {
    const docs = parseAllDocuments(readFileSync(path.join(root, 'test/fixtures/istio/testdata/pod-old-version.yaml.injected'), 'utf8'));
    const golden = docs[0]!.toJS() as Pod;
    const answer = await admitPod(conformance, golden, 'default');
    expect(answer.allowed).toBe(true);
    expect(answer.pod).toEqual(golden);
    expectNothingDuplicated(answer.pod);
  });

  it('the original pod.yaml injected twice by mesh-webhook: the same pod both times', async () => {
    const input = parseAllDocuments(readFileSync(path.join(root, 'test/fixtures/istio/testdata/pod.yaml'), 'utf8'))[0]!.toJS() as Pod;
    const first = (await admitPod(conformance, input, 'default')).pod;
    const second = (await admitPod(conformance, first, 'default')).pod;
    expect(second).toEqual(first);
  });
});
