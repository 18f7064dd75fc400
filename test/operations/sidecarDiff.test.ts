/**
 * src/outdated/sidecarDiff.ts on its own: the field-by-field comparison behind `outdated --diff`, live pod (as the
 * cluster stores it) against ours (as the injector renders it).
 */
import { describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/k8s/types.js';
import { sidecarDifferences } from '../../src/outdated/sidecarDiff.js';

const STATUS = (init: string[] | null, containers: string[] | null, volumes: string[] = [], secrets: string[] | null = null) =>
  JSON.stringify({ initContainers: init, containers, volumes, imagePullSecrets: secrets, revision: 'default' });

/** istio-proxy as the injector renders it (no API server defaults). */
const renderedProxy = (extra: Partial<Container> = {}): Container => ({
  name: 'istio-proxy',
  image: 'proxyv2:1.30',
  args: ['proxy', 'sidecar'],
  env: [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'PROXY_CONFIG', value: '{"holdApplicationUntilProxyStarts":true,"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}\n' },
    { name: 'ISTIO_META_POD_PORTS', value: '[\n    {"name":"http","containerPort":80,"protocol":"TCP"}\n]' },
  ],
  ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
  readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
  resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
  volumeMounts: [{ mountPath: '/etc/istio/proxy', name: 'istio-envoy' }],
  restartPolicy: 'Always',
  ...extra,
});

/** The same istio-proxy as the API server stores it (defaults, the service account token mount, canonical quantities). */
const storedProxy = (extra: Partial<Container> = {}): Container => ({
  name: 'istio-proxy',
  image: 'proxyv2:1.30',
  imagePullPolicy: 'IfNotPresent',
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
  args: ['proxy', 'sidecar'],
  env: [
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    // The same JSON written another way.
    { name: 'PROXY_CONFIG', value: '{"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}, "holdApplicationUntilProxyStarts": true}' },
    { name: 'ISTIO_META_POD_PORTS', value: '[{"containerPort":80,"name":"http","protocol":"TCP"}]' },
  ],
  ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
  readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021, scheme: 'HTTP' }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4, successThreshold: 1 },
  resources: { limits: { cpu: '2000m', memory: '1024Mi' }, requests: { cpu: '0.1', memory: '128Mi' } },
  volumeMounts: [
    { mountPath: '/etc/istio/proxy', name: 'istio-envoy' },
    { mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: 'kube-api-access-x7k2p', readOnly: true },
  ],
  restartPolicy: 'Always',
  ...extra,
});

const app: Container = { name: 'app', image: 'app:1' };

function pod(spec: Partial<NonNullable<Pod['spec']>>, annotations: Record<string, string> = {}, labels: Record<string, string> = {}): Pod {
  return { metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web', ...labels }, annotations }, spec: { containers: [app], ...spec } };
}

const nativeStatus = { 'sidecar.istio.io/status': STATUS(['istio-proxy'], null, ['istio-envoy']) };
const envoyVolume = { name: 'istio-envoy', emptyDir: { medium: 'Memory' } };

describe('sidecarDifferences', () => {
  it('nothing when ours, with the API server defaults, is what the cluster stores (quantities, JSON formatting, the token mount aside)', () => {
    const live = pod({ initContainers: [storedProxy()], volumes: [envoyVolume] }, nativeStatus);
    const ours = pod({ initContainers: [renderedProxy()], volumes: [envoyVolume] }, nativeStatus);
    expect(sidecarDifferences({ live, ours })).toEqual([]);
  });

  it('every differing field, by key: env by name, PROXY_CONFIG by key, ports by containerPort, volumeMounts by mountPath', () => {
    const live = pod(
      {
        initContainers: [
          storedProxy({
            image: 'proxyv2:1.29',
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.uid' } } },
              { name: 'PROXY_CONFIG', value: '{"holdApplicationUntilProxyStarts":false,"proxyMetadata":{}}' },
              { name: 'ISTIO_META_POD_PORTS', value: '[{"containerPort":80,"name":"http"}]' },
              { name: 'EXTRA', value: 'from istiod' },
            ],
            ports: [{ containerPort: 15090, name: 'prom', protocol: 'TCP' }, { containerPort: 15021, protocol: 'TCP' }],
            resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
            volumeMounts: [{ mountPath: '/etc/istio/proxy', name: 'istio-envoy', readOnly: true }],
          }),
        ],
        volumes: [envoyVolume],
      },
      nativeStatus,
    );
    const ours = pod(
      { initContainers: [renderedProxy({ env: [...renderedProxy().env!, { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }] })], volumes: [envoyVolume] },
      nativeStatus,
    );
    expect(sidecarDifferences({ live, ours })).toEqual([
      { field: 'initContainers[istio-proxy].env[EXTRA]', live: 'from istiod', ours: null },
      // On one side only: one difference, the variable whole (ours as the API server stores it).
      { field: 'initContainers[istio-proxy].env[HOST_IP]', live: null, ours: { valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } } } },
      { field: 'initContainers[istio-proxy].env[ISTIO_META_POD_PORTS]', live: '[{"containerPort":80,"name":"http"}]', ours: '[\n    {"name":"http","containerPort":80,"protocol":"TCP"}\n]' },
      { field: 'initContainers[istio-proxy].env[POD_NAME].valueFrom.fieldRef.fieldPath', live: 'metadata.uid', ours: 'metadata.name' },
      { field: 'initContainers[istio-proxy].env[PROXY_CONFIG].holdApplicationUntilProxyStarts', live: false, ours: true },
      { field: 'initContainers[istio-proxy].env[PROXY_CONFIG].proxyMetadata.ISTIO_META_DNS_CAPTURE', live: null, ours: 'true' },
      { field: 'initContainers[istio-proxy].image', live: 'proxyv2:1.29', ours: 'proxyv2:1.30' },
      { field: 'initContainers[istio-proxy].ports[15021]', live: { containerPort: 15021, protocol: 'TCP' }, ours: null },
      { field: 'initContainers[istio-proxy].ports[15090].name', live: 'prom', ours: 'http-envoy-prom' },
      { field: 'initContainers[istio-proxy].resources.limits.cpu', live: '1', ours: '2' },
      { field: 'initContainers[istio-proxy].volumeMounts[/etc/istio/proxy].readOnly', live: true, ours: null },
    ]);
  });

  it('a list under a field whose name an Object has (toString) is compared by index, not keyed by a prototype method', () => {
    const live = pod({ initContainers: [storedProxy({ toString: [{ a: 1 }, { a: 2 }] } as Partial<Container>)] }, { 'sidecar.istio.io/status': STATUS(['istio-proxy'], null) });
    const ours = pod({ initContainers: [renderedProxy({ toString: [{ a: 1 }, { a: 3 }] } as Partial<Container>)] }, { 'sidecar.istio.io/status': STATUS(['istio-proxy'], null) });
    expect(sidecarDifferences({ live, ours })).toEqual([{ field: 'initContainers[istio-proxy].toString[1].a', live: 2, ours: 3 }]);
  });

  it('PROXY_CONFIG that is not a JSON object on one side is compared as text', () => {
    const proxy = (value: string) => storedProxy({ env: [{ name: 'PROXY_CONFIG', value }] });
    const live = pod({ initContainers: [proxy('not json')] }, nativeStatus);
    const ours = pod({ initContainers: [renderedProxy({ env: [{ name: 'PROXY_CONFIG', value: '{}' }] })] }, nativeStatus);
    expect(sidecarDifferences({ live, ours })).toContainEqual({ field: 'initContainers[istio-proxy].env[PROXY_CONFIG]', live: 'not json', ours: '{}' });
  });

  it("Go's omitted empty values are absent: an empty env value, readOnly false, an empty list", () => {
    const live = pod({ initContainers: [storedProxy({ env: [{ name: 'EMPTY' }] })] }, nativeStatus);
    const ours = pod(
      { initContainers: [renderedProxy({ env: [{ name: 'EMPTY', value: '' }], command: [], volumeMounts: [{ mountPath: '/etc/istio/proxy', name: 'istio-envoy', readOnly: false }] })] },
      nativeStatus,
    );
    expect(sidecarDifferences({ live, ours })).toEqual([]);
  });

  it('a container on one side only is one difference; istio-init against istio-validation', () => {
    const status = { 'sidecar.istio.io/status': STATUS(['istio-init', 'istio-proxy'], null) };
    const ourStatus = { 'sidecar.istio.io/status': STATUS(['istio-validation', 'istio-proxy'], null) };
    const live = pod({ initContainers: [{ ...storedProxy(), name: 'istio-init', args: ['istio-iptables'] }, storedProxy()] }, status);
    const ours = pod({ initContainers: [{ ...renderedProxy(), name: 'istio-validation', args: ['istio-iptables', '--run-validation'] }, renderedProxy()] }, ourStatus);
    expect(sidecarDifferences({ live, ours })).toEqual([
      { field: 'initContainers[istio-init]', live: 'present', ours: null },
      { field: 'initContainers[istio-validation]', live: null, ours: 'present' },
      { field: 'annotations[sidecar.istio.io/status].initContainers', live: ['istio-init', 'istio-proxy'], ours: ['istio-validation', 'istio-proxy'] },
    ]);
  });

  it('a classic proxy that becomes a native sidecar: where it is, then its fields under initContainers', () => {
    const live = pod({ containers: [app, storedProxy({ restartPolicy: undefined })] }, { 'sidecar.istio.io/status': STATUS(null, ['istio-proxy']) });
    const ours = pod({ initContainers: [renderedProxy()] }, nativeStatus);
    expect(sidecarDifferences({ live, ours })).toEqual([
      { field: 'containers[istio-proxy]', live: 'present', ours: null },
      { field: 'initContainers[istio-proxy]', live: null, ours: 'present' },
      { field: 'initContainers[istio-proxy].restartPolicy', live: null, ours: 'Always' },
      { field: 'annotations[sidecar.istio.io/status].containers', live: ['istio-proxy'], ours: null },
      { field: 'annotations[sidecar.istio.io/status].initContainers', live: null, ours: ['istio-proxy'] },
      { field: 'annotations[sidecar.istio.io/status].volumes', live: null, ours: ['istio-envoy'] },
    ]);
  });

  it('the order of the containers: a proxy held first', () => {
    const status = { 'sidecar.istio.io/status': STATUS(null, ['istio-proxy']) };
    const live = pod({ containers: [app, storedProxy({ restartPolicy: undefined })] }, status);
    const ours = pod({ containers: [renderedProxy({ restartPolicy: undefined }), app] }, status);
    expect(sidecarDifferences({ live, ours })).toEqual([{ field: 'containers.order', live: 'app,istio-proxy', ours: 'istio-proxy,app' }]);
  });

  it('volumes the status lists and image pull secrets: on one side, or field by field after the defaults', () => {
    const status = { 'sidecar.istio.io/status': STATUS(['istio-proxy'], null, ['istio-envoy', 'istiod-ca-cert', 'istio-data', 'old'], ['istiod-pull']) };
    const ourStatus = { 'sidecar.istio.io/status': STATUS(['istio-proxy'], null, ['istio-envoy', 'istiod-ca-cert', 'istio-data', 'workload-socket'], ['kyma-pull']) };
    const live = pod(
      {
        initContainers: [storedProxy()],
        volumes: [
          { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
          { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert', defaultMode: 420 } },
          { name: 'istio-data', emptyDir: {} },
          { name: 'old', emptyDir: {} },
          { name: 'kube-api-access-x7k2p', projected: { sources: [] } },
        ],
        imagePullSecrets: [{ name: 'istiod-pull' }, { name: 'app-pull' }],
      },
      status,
    );
    const ours = pod(
      {
        initContainers: [renderedProxy()],
        volumes: [
          { name: 'istio-envoy', emptyDir: {} },
          { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
          { name: 'istio-data' },
          { name: 'workload-socket' },
        ],
        imagePullSecrets: [{ name: 'app-pull' }, { name: 'kyma-pull' }],
      },
      ourStatus,
    );
    expect(sidecarDifferences({ live, ours })).toEqual([
      { field: 'volumes[istio-envoy].emptyDir.medium', live: 'Memory', ours: null },
      { field: 'volumes[old]', live: 'present', ours: null },
      { field: 'volumes[workload-socket]', live: null, ours: 'present' },
      { field: 'imagePullSecrets[istiod-pull]', live: 'present', ours: null },
      { field: 'imagePullSecrets[kyma-pull]', live: null, ours: 'present' },
      { field: 'annotations[sidecar.istio.io/status].imagePullSecrets', live: ['istiod-pull'], ours: ['kyma-pull'] },
      { field: 'annotations[sidecar.istio.io/status].volumes', live: ['istio-envoy', 'istiod-ca-cert', 'istio-data', 'old'], ours: ['istio-envoy', 'istiod-ca-cert', 'istio-data', 'workload-socket'] },
    ]);
  });

  it('the labels and annotations an injector sets, the status by its content; other metadata is not compared', () => {
    const live = pod(
      { initContainers: [storedProxy()] },
      {
        'sidecar.istio.io/status': '{"revision":"default","initContainers":["istio-proxy"],"containers":null,"volumes":["istio-envoy"],"imagePullSecrets":null}',
        'istio.io/rev': 'default',
        'prometheus.io/port': '15020',
        'kubectl.kubernetes.io/default-container': 'app',
        'team.example.com/owner': 'shop',
      },
      { 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': 'web', 'pod-template-hash': '5d8f7' },
    );
    const ours = pod(
      { initContainers: [renderedProxy()] },
      { ...nativeStatus, 'istio.io/rev': 'canary', 'kubectl.kubernetes.io/default-container': 'app', 'mesh-webhook/injected-by': 'mesh-webhook' },
      { 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': 'web-v2' },
    );
    // What ours was given: its own annotations are not the injector's; mesh-webhook/injected-by (an injectedAnnotation) is.
    const input = pod({}, { 'team.example.com/owner': 'shop' }, {});
    expect(sidecarDifferences({ live, ours, input })).toEqual([
      { field: 'annotations[istio.io/rev]', live: 'default', ours: 'canary' },
      { field: 'annotations[mesh-webhook/injected-by]', live: null, ours: 'mesh-webhook' },
      { field: 'annotations[prometheus.io/port]', live: '15020', ours: null },
      { field: 'labels[service.istio.io/canonical-name]', live: 'web', ours: 'web-v2' },
    ]);
  });

  it('an enable-core-dump container and containers the status names are compared too', () => {
    const status = { 'sidecar.istio.io/status': STATUS(['istio-proxy', 'enable-core-dump'], ['istio-extra']) };
    const live = pod({ initContainers: [storedProxy(), { name: 'enable-core-dump', image: 'proxyv2:1.30' }], containers: [app, { name: 'istio-extra', image: 'x' }] }, status);
    const ours = pod({ initContainers: [renderedProxy()] }, nativeStatus);
    expect(sidecarDifferences({ live, ours }).map((d) => d.field)).toEqual([
      'initContainers[enable-core-dump]',
      'containers[istio-extra]',
      'annotations[sidecar.istio.io/status].containers',
      'annotations[sidecar.istio.io/status].initContainers',
      'annotations[sidecar.istio.io/status].volumes',
    ]);
  });

  it('does not throw on pods that are not well formed', () => {
    const live = { metadata: { annotations: { 'sidecar.istio.io/status': '{not json' } }, spec: { containers: ['x', null, { name: 3 }], volumes: 'no', initContainers: [{ name: 'istio-proxy', env: 'no', ports: [1, 2] }] } } as unknown as Pod;
    const ours = pod({ initContainers: [renderedProxy()] }, nativeStatus);
    expect(() => sidecarDifferences({ live, ours })).not.toThrow();
    expect(() => sidecarDifferences({ live: {} as Pod, ours: {} as Pod })).not.toThrow();
    expect(sidecarDifferences({ live: {} as Pod, ours: {} as Pod })).toEqual([]);
  });
});
