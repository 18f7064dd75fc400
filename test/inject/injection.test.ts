/**
 * What is injected, through the real HTTPS webhook with real patches applied: Kyma defaults, the sidecar.istio.io/*
 * annotations, probe rewrite, start-up ordering, native sidecars for Jobs, re-injection and injector errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileConfig } from '../../src/config/profiles.js';
import type { InjectorConfig } from '../../src/config/types.js';
import { createRuntime } from '../../src/server/runtime.js';
import type { Pod } from '../../src/k8s/types.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container, env } from './review.js';

const classic: InjectorConfig = { ...profileConfig('kyma'), nativeSidecars: false };
let kyma: TestServer;
let kymaClassic: TestServer;
let istio: TestServer;
beforeAll(async () => {
  kyma = await startTestServer(() => createRuntime(profileConfig('kyma')));
  kymaClassic = await startTestServer(() => createRuntime(classic));
  istio = await startTestServer(() => createRuntime(profileConfig('istio')));
});
afterAll(async () => {
  await Promise.all([kyma.close(), kymaClassic.close(), istio.close()]);
});

describe('Kyma profile defaults', () => {
  it('injects istio-init and a native istio-proxy with Kyma resources and images', async () => {
    const { pod } = await admitPod(kyma, appPod());
    const names = pod.spec!.initContainers!.map((c) => c.name);
    expect(names).toEqual(['istio-init', 'istio-proxy']);
    const proxy = container(pod, 'istio-proxy')!;
    expect(proxy.image).toBe('europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30.2-distroless');
    expect(proxy.restartPolicy).toBe('Always');
    expect(proxy.resources).toEqual({ requests: { cpu: '20m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } });
    expect(container(pod, 'istio-init')!.resources).toEqual({ requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '100m', memory: '50Mi' } });
    expect(JSON.parse(env(proxy, 'PROXY_CONFIG')!)).toEqual({
      tracing: { zipkin: { address: 'zipkin.kyma-system:9411' } },
      holdApplicationUntilProxyStarts: true,
    });
    // Prometheus merge is off in Kyma: no prometheus.io annotations are added.
    expect(pod.metadata!.annotations!['prometheus.io/scrape']).toBeUndefined();
    expect(pod.metadata!.labels!['security.istio.io/tlsMode']).toBe('istio');
    expect(JSON.parse(pod.metadata!.annotations!['sidecar.istio.io/status']!)).toMatchObject({
      initContainers: ['istio-init', 'istio-proxy'],
      containers: null,
      revision: 'default',
    });
  });

  it('classic mode holds the application: proxy first with a postStart pilot-agent wait', async () => {
    const { pod } = await admitPod(kymaClassic, appPod());
    expect(pod.spec!.containers!.map((c) => c.name)).toEqual(['istio-proxy', 'app']);
    expect(container(pod, 'istio-proxy')!.lifecycle).toEqual({ postStart: { exec: { command: ['pilot-agent', 'wait'] } } });
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(['istio-init']);
  });

  it('Istio profile: proxy last without hold, Istio chart resources', async () => {
    const { pod } = await admitPod(istio, appPod({ annotations: { 'sidecar.istio.io/nativeSidecar': 'false' } }));
    expect(pod.spec!.containers!.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
    const proxy = container(pod, 'istio-proxy')!;
    expect(proxy.lifecycle).toBeUndefined();
    expect(proxy.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } });
    expect(pod.metadata!.annotations!['prometheus.io/port']).toBe('15020');
  });
});

describe('annotations honoured', () => {
  it('proxy resource annotations replace the defaults, in canonical quantity form', async () => {
    const { pod } = await admitPod(
      kyma,
      appPod({ annotations: { 'sidecar.istio.io/proxyCPU': '1000m', 'sidecar.istio.io/proxyMemory': '1024Mi', 'sidecar.istio.io/proxyCPULimit': '1.5' } }),
    );
    expect(container(pod, 'istio-proxy')!.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1500m' } });
  });

  it('sidecar.istio.io/nativeSidecar=false gives a classic sidecar; Jobs keep native sidecars by default', async () => {
    const optOut = await admitPod(kyma, appPod({ annotations: { 'sidecar.istio.io/nativeSidecar': 'false' } }));
    expect(optOut.pod.spec!.containers!.map((c) => c.name)).toEqual(['istio-proxy', 'app']);
    const job = appPod({ name: 'migrate-x7k2p' });
    job.metadata = { ...job.metadata, generateName: 'migrate-', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', controller: true }] };
    const { pod } = await admitPod(kyma, job);
    const proxy = container(pod, 'istio-proxy')!;
    expect(pod.spec!.initContainers!.map((c) => c.name)).toContain('istio-proxy');
    expect(proxy.restartPolicy).toBe('Always');
    expect(env(proxy, 'ISTIO_META_OWNER')).toBe('kubernetes://apis/batch/v1/namespaces/default/jobs/migrate');
  });

  it('traffic annotations become istio-iptables arguments', async () => {
    const { pod } = await admitPod(
      kyma,
      appPod({
        annotations: {
          'traffic.sidecar.istio.io/excludeOutboundPorts': '5432',
          'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/8',
          'traffic.sidecar.istio.io/includeInboundPorts': '8080',
        },
      }),
    );
    const args = container(pod, 'istio-init')!.args!;
    expect(args.slice(args.indexOf('-x'), args.indexOf('-x') + 2)).toEqual(['-x', '10.0.0.0/8']);
    expect(args.slice(args.indexOf('-b'), args.indexOf('-b') + 2)).toEqual(['-b', '8080']);
    expect(args.slice(args.indexOf('-o'), args.indexOf('-o') + 2)).toEqual(['-o', '5432']);
    expect(args).toContain('15090,15021,15020');
  });

  it('userVolume and userVolumeMount add a volume and a proxy mount', async () => {
    const { pod } = await admitPod(
      kyma,
      appPod({
        annotations: {
          'sidecar.istio.io/userVolume': '{"extra-certs":{"secret":{"secretName":"extra"}}}',
          'sidecar.istio.io/userVolumeMount': '{"extra-certs":{"mountPath":"/etc/extra","readOnly":true}}',
        },
      }),
    );
    expect(pod.spec!.volumes).toContainEqual({ name: 'extra-certs', secret: { secretName: 'extra' } });
    expect(container(pod, 'istio-proxy')!.volumeMounts).toContainEqual({ name: 'extra-certs', mountPath: '/etc/extra', readOnly: true });
  });

  it('proxy.istio.io/config overlays the mesh proxy config', async () => {
    const { pod } = await admitPod(kyma, appPod({ annotations: { 'proxy.istio.io/config': 'proxyMetadata:\n  DNS_CAPTURE: "true"\n' } }));
    const proxy = container(pod, 'istio-proxy')!;
    expect(env(proxy, 'DNS_CAPTURE')).toBe('true');
    expect(JSON.parse(env(proxy, 'PROXY_CONFIG')!).proxyMetadata).toEqual({ DNS_CAPTURE: 'true' });
    expect(container(pod, 'istio-init')!.env).toEqual([{ name: 'DNS_CAPTURE', value: 'true' }]);
  });

  it('labels and annotations with / and ~ in their keys are escaped in the patch', async () => {
    const pod = appPod({ annotations: { 'example.com/a~b': 'x' } });
    const answer = await admitPod(kyma, pod);
    const paths = answer.patch!.map((op) => op.path);
    expect(paths).toContain('/metadata/annotations/sidecar.istio.io~1status');
    expect(answer.pod.metadata!.annotations!['example.com/a~b']).toBe('x');
  });
});

describe('app probe rewrite', () => {
  const probed: Pod = {
    metadata: { name: 'probed' },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'web:1',
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTPS' }, timeoutSeconds: 2 },
          livenessProbe: { tcpSocket: { port: 8080 } },
          startupProbe: { grpc: { port: 9090 } },
          lifecycle: { preStop: { httpGet: { path: '/stop', port: 8081 } } },
        },
      ],
    },
  };

  it('points HTTP, TCP, gRPC probes and hooks at the status port and tells the proxy the originals', async () => {
    const { pod } = await admitPod(kyma, probed);
    const web = container(pod, 'web')!;
    expect(web.readinessProbe).toEqual({ httpGet: { path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' }, timeoutSeconds: 2 });
    expect(web.livenessProbe).toEqual({ httpGet: { path: '/app-health/web/livez', port: 15020 } });
    expect(web.startupProbe).toEqual({ httpGet: { path: '/app-health/web/startupz', port: 15020 } });
    expect(web.lifecycle).toEqual({ preStop: { httpGet: { path: '/app-lifecycle/web/prestopz', port: 15020 } } });
    expect(JSON.parse(env(container(pod, 'istio-proxy'), 'ISTIO_KUBE_APP_PROBERS')!)).toEqual({
      '/app-health/web/livez': { tcpSocket: { port: 8080 } },
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8080, scheme: 'HTTPS' }, timeoutSeconds: 2 },
      '/app-health/web/startupz': { grpc: { port: 9090, service: null } },
      '/app-lifecycle/web/prestopz': { httpGet: { path: '/stop', port: 8081 } },
    });
  });

  it('leaves probes alone when sidecar.istio.io/rewriteAppHTTPProbers is false', async () => {
    const off = structuredClone(probed);
    off.metadata!.annotations = { 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' };
    const { pod } = await admitPod(kyma, off);
    expect(container(pod, 'web')!.readinessProbe).toEqual(probed.spec!.containers![0]!.readinessProbe);
    expect(env(container(pod, 'istio-proxy'), 'ISTIO_KUBE_APP_PROBERS')).toBeUndefined();
  });
});

describe('re-injection (reinvocationPolicy IfNeeded)', () => {
  it('injecting an injected pod again gives the same pod', async () => {
    for (const server of [kyma, kymaClassic, istio]) {
      const first = await admitPod(server, appPod({ spec: { containers: [{ name: 'app', image: 'a', readinessProbe: { httpGet: { port: 8080 } } }] } }));
      const second = await admitPod(server, first.pod);
      expect(second.allowed).toBe(true);
      expect(second.pod).toEqual(first.pod);
    }
  });
});

describe('injector errors reject the pod with a message naming the annotation and value', () => {
  it.each([
    ['sidecar.istio.io/interceptionMode', 'BOGUS'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/33'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '80,http'],
    ['status.sidecar.istio.io/port', '70000'],
    ['sidecar.istio.io/proxyCPU', 'lots'],
    ['proxy.istio.io/config', 'unknownField: 1'],
    ['prometheus.istio.io/merge-metrics', 'maybe'],
  ])('%s=%s', async (annotation, value) => {
    const answer = await admitPod(kyma, appPod({ annotations: { [annotation]: value } }));
    expect(answer.allowed).toBe(false);
    expect(answer.patch).toBeUndefined();
    expect(answer.message).toContain(annotation);
    expect(answer.message).toContain(value);
  });

  it('a request annotation above its limit annotation is rejected, naming both annotations and values', async () => {
    const answer = await admitPod(
      kyma,
      appPod({ annotations: { 'sidecar.istio.io/proxyMemory': '256Mi', 'sidecar.istio.io/proxyMemoryLimit': '128Mi' } }),
    );
    expect(answer.allowed).toBe(false);
    expect(answer.patch).toBeUndefined();
    expect(answer.message).toBe(
      "annotation sidecar.istio.io/proxyMemory '256Mi' is above annotation sidecar.istio.io/proxyMemoryLimit '128Mi': the API server refuses a container whose memory request is above its limit; lower the request or raise the limit",
    );
    // Compared by value, not by text: 0.5 CPU is above 300m, 1Gi is not above 1024Mi; both conflicts are named.
    const both = await admitPod(
      kyma,
      appPod({ annotations: { 'sidecar.istio.io/proxyCPU': '0.5', 'sidecar.istio.io/proxyCPULimit': '300m', 'sidecar.istio.io/proxyMemory': '3Gi', 'sidecar.istio.io/proxyMemoryLimit': '2048Mi' } }),
    );
    expect(both.allowed).toBe(false);
    expect(both.message).toContain("sidecar.istio.io/proxyCPU '0.5' is above annotation sidecar.istio.io/proxyCPULimit '300m'");
    expect(both.message).toContain("sidecar.istio.io/proxyMemory '3Gi' is above annotation sidecar.istio.io/proxyMemoryLimit '2048Mi'");
    const equal = await admitPod(
      kyma,
      appPod({ annotations: { 'sidecar.istio.io/proxyMemory': '1Gi', 'sidecar.istio.io/proxyMemoryLimit': '1024Mi', 'sidecar.istio.io/proxyCPU': '500m' } }),
    );
    expect(equal.allowed).toBe(true);
    expect(container(equal.pod, 'istio-proxy')!.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } });
  });

  it('a declared istio-proxy whose request is above the configured limit is rejected, naming the container and both values', async () => {
    const pod = appPod();
    pod.spec!.containers!.push({ name: 'istio-proxy', image: 'auto', resources: { requests: { memory: '1Gi' } } });
    const answer = await admitPod(kyma, pod);
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(
      "mesh-webhook: cannot inject: container istio-proxy would request memory '1Gi' above its limit '128Mi' (the pod's declared istio-proxy or proxy.istio.io/overrides is merged over the configured resources), which the API server refuses; make the declared request fit the limit, or declare the limit too",
    );
    // Declaring the limit too makes it fit.
    const fits = appPod();
    fits.spec!.containers!.push({ name: 'istio-proxy', image: 'auto', resources: { requests: { memory: '1Gi' }, limits: { memory: '1Gi' } } });
    const ok = await admitPod(kyma, fits);
    expect(ok.allowed).toBe(true);
    expect(container(ok.pod, 'istio-proxy')!.resources).toEqual({ requests: { cpu: '20m', memory: '1Gi' }, limits: { cpu: '200m', memory: '1Gi' } });
  });

  it('a reserved prometheus.io/port is rejected when metrics are merged', async () => {
    const answer = await admitPod(istio, appPod({ annotations: { 'prometheus.io/port': '15090' } }));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(
      "invalid prometheus scrape configuration: port 15090 is reserved for Istio (Envoy Prometheus (already merged)) and cannot be scraped; set the annotation 'prometheus.io/port' to the application's own metrics port",
    );
  });
});

describe('safety limits on annotations (Kyma profile defaults)', () => {
  it('rejects a proxy image outside the configured hub and a hostPath user volume, naming the annotation', async () => {
    const image = await admitPod(kyma, appPod({ annotations: { 'sidecar.istio.io/proxyImage': 'evil.example.com/proxyv2:1' } }));
    expect(image.allowed).toBe(false);
    expect(image.message).toContain('sidecar.istio.io/proxyImage');
    expect(image.message).toContain('evil.example.com/proxyv2:1');
    const volume = await admitPod(kyma, appPod({ annotations: { 'sidecar.istio.io/userVolume': '{"h":{"hostPath":{"path":"/"}}}' } }));
    expect(volume.allowed).toBe(false);
    expect(volume.message).toContain("volume 'h' uses hostPath");
  });

  it('allows an image from the hub, and anything in the istio profile (as Istio)', async () => {
    const hubImage = 'europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30.2-debug';
    const ok = await admitPod(kyma, appPod({ annotations: { 'sidecar.istio.io/proxyImage': hubImage } }));
    expect(container(ok.pod, 'istio-proxy')!.image).toBe(hubImage);
    const any = await admitPod(istio, appPod({ annotations: { 'sidecar.istio.io/proxyImage': 'other.example.com/proxyv2:1' } }));
    expect(any.allowed).toBe(true);
  });
});
