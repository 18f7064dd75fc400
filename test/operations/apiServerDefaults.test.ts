/**
 * src/k8s/defaults.ts: what the API server stores for a container and a volume of a created Pod, field by field
 * (kubernetes pkg/apis/core/v1/defaults.go and zz_generated.defaults.go).
 */
import { describe, expect, it } from 'vitest';
import { apiServerContainer, apiServerVolume, defaultImagePullPolicy, imageTag } from '../../src/k8s/defaults.js';

describe('imagePullPolicy (SetDefaults_Container)', () => {
  it.each([
    ['nginx', 'latest', 'Always'],
    ['nginx:latest', 'latest', 'Always'],
    ['registry.istio.io/testing/proxyv2:latest', 'latest', 'Always'],
    ['registry.local:5000/proxyv2', 'latest', 'Always'],
    ['registry.local:5000/proxyv2:1.30.2-distroless', '1.30.2-distroless', 'IfNotPresent'],
    ['europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30.2-distroless', '1.30.2-distroless', 'IfNotPresent'],
    ['proxyv2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '', 'IfNotPresent'],
    ['proxyv2:1.30@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '1.30', 'IfNotPresent'],
  ])('%s: tag %j, %s', (image, tag, policy) => {
    expect(imageTag(image)).toBe(tag);
    expect(defaultImagePullPolicy(image)).toBe(policy);
  });

  it('keeps a policy the container sets', () => {
    expect(apiServerContainer({ name: 'c', image: 'x:latest', imagePullPolicy: 'Never' }).imagePullPolicy).toBe('Never');
  });
});

describe('a container', () => {
  it('gets every default a created pod stores', () => {
    const stored = apiServerContainer({
      name: 'istio-proxy',
      image: 'proxyv2:1.30',
      ports: [{ containerPort: 15090, name: 'http-envoy-prom' }, { containerPort: 53, protocol: 'UDP' }],
      env: [
        { name: 'A', value: 'a' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'OLD', valueFrom: { fieldRef: { apiVersion: 'v2', fieldPath: 'metadata.name' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1' } } },
      ],
      resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m' } },
      readinessProbe: { httpGet: { port: 15021 } },
      livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 3, successThreshold: 2 },
      startupProbe: { grpc: { port: 9000 } },
      lifecycle: { preStop: { httpGet: { path: '/drain', port: 15000, scheme: 'HTTPS' } }, postStart: { exec: { command: ['true'] } } },
    });
    expect(stored).toEqual({
      name: 'istio-proxy',
      image: 'proxyv2:1.30',
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      ports: [
        { containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' },
        { containerPort: 53, protocol: 'UDP' },
      ],
      env: [
        { name: 'A', value: 'a' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
        { name: 'OLD', valueFrom: { fieldRef: { apiVersion: 'v2', fieldPath: 'metadata.name' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '0' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1' } } },
      ],
      resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m', memory: '1Gi' } },
      readinessProbe: { httpGet: { port: 15021, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
      livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 3, successThreshold: 2 },
      startupProbe: { grpc: { port: 9000, service: '' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
      lifecycle: { preStop: { httpGet: { path: '/drain', port: 15000, scheme: 'HTTPS' } }, postStart: { exec: { command: ['true'] } } },
    });
  });

  it('without resources stores `resources: {}`; requests alone stay as they are', () => {
    expect(apiServerContainer({ name: 'c', image: 'x:1' }).resources).toEqual({});
    expect(apiServerContainer({ name: 'c', image: 'x:1', resources: { requests: { cpu: '1' } } }).resources).toEqual({ requests: { cpu: '1' } });
  });

  it('does not change its input', () => {
    const c = { name: 'c', image: 'x', ports: [{ containerPort: 1 }], readinessProbe: { httpGet: { port: 1 } } };
    const copy = structuredClone(c);
    apiServerContainer(c);
    expect(c).toEqual(copy);
  });
});

describe('a volume', () => {
  it.each([
    ['no source: an emptyDir', { name: 'workload-socket' }, { name: 'workload-socket', emptyDir: {} }],
    ['an emptyDir as it is', { name: 'istio-envoy', emptyDir: { medium: 'Memory' } }, { name: 'istio-envoy', emptyDir: { medium: 'Memory' } }],
    [
      'configMap: defaultMode 420',
      { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
      { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert', defaultMode: 420 } },
    ],
    ['secret: its own defaultMode kept', { name: 's', secret: { secretName: 's', defaultMode: 256 } }, { name: 's', secret: { secretName: 's', defaultMode: 256 } }],
    [
      'downwardAPI: defaultMode, fieldRef apiVersion',
      { name: 'istio-podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      { name: 'istio-podinfo', downwardAPI: { defaultMode: 420, items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }] } },
    ],
    [
      'projected: defaultMode, token expiration kept or 3600',
      {
        name: 'istio-token',
        projected: {
          sources: [
            { serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } },
            { serviceAccountToken: { path: 'other' } },
            { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
      {
        name: 'istio-token',
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } },
            { serviceAccountToken: { path: 'other', expirationSeconds: 3600 } },
            { downwardAPI: { items: [{ path: 'ns', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
    ],
    ['hostPath: type ""', { name: 'h', hostPath: { path: '/var/run' } }, { name: 'h', hostPath: { path: '/var/run', type: '' } }],
  ])('%s', (_what, volume, stored) => {
    expect(apiServerVolume(volume)).toEqual(stored);
  });
});
