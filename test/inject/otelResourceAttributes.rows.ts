/**
 * Rows for the OTEL_RESOURCE_ATTRIBUTES tests (webhook: test/inject/otelResourceAttributes.test.ts, CLI:
 * test/cli/fidelity.test.ts): Istio's TestOtelResourceAttributes (pkg/kube/inject/template_test.go, istio/istio
 * 86c9f01fd735; see test/fixtures/istio/NOTICE) and ours.
 */
import { expect } from 'vitest';
import type { Container, Pod } from '../../src/k8s/types.js';

export const SEMCONV =
  'meshConfig.extensionProviders=[{"name":"otel","opentelemetry":{"service":"otel-collector","port":4317,"serviceAttributeEnrichment":"OTEL_SEMANTIC_CONVENTIONS"}}]';
export const CANONICAL =
  'meshConfig.extensionProviders=[{"name":"otel","opentelemetry":{"service":"otel-collector","port":4317,"serviceAttributeEnrichment":"ISTIO_CANONICAL"}}]';

export interface Row {
  name: string;
  /** The --set giving meshConfig.extensionProviders; none: the istio profile's providers. */
  set?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  namespace: string;
  containers?: { name: string; image: string }[];
  /** '' = no OTEL_RESOURCE_ATTRIBUTES env var. */
  want: string;
}

// Istio's TestOtelResourceAttributes, row by row (test/fixtures/istio/NOTICE).
export const ISTIO_ROWS: Row[] = [
  { name: 'no OTel semantic conventions provider returns empty', namespace: 'default', want: '' },
  { name: 'ISTIO_CANONICAL provider returns empty', set: CANONICAL, namespace: 'default', want: '' },
  { name: 'defaults: namespace only (no containers)', set: SEMCONV, namespace: 'my-namespace', want: 'service.namespace=my-namespace' },
  {
    name: 'defaults: namespace + instance.id with container',
    set: SEMCONV,
    namespace: 'my-namespace',
    containers: [{ name: 'myapp', image: 'myapp' }],
    want: 'service.namespace=my-namespace,service.instance.id=my-namespace.$(POD_NAME).myapp',
  },
  {
    name: 'all annotations override defaults',
    set: SEMCONV,
    namespace: 'my-namespace',
    annotations: {
      'resource.opentelemetry.io/service.namespace': 'custom-ns',
      'resource.opentelemetry.io/service.version': 'v2.0',
      'resource.opentelemetry.io/service.instance.id': 'custom-id',
    },
    labels: { 'app.kubernetes.io/version': 'should-not-use' },
    containers: [{ name: 'myapp', image: 'myapp' }],
    want: 'service.namespace=custom-ns,service.version=v2.0,service.instance.id=custom-id',
  },
  {
    name: 'service.version from label',
    set: SEMCONV,
    namespace: 'default',
    labels: { 'app.kubernetes.io/version': 'v1.2.3' },
    containers: [{ name: 'myapp', image: 'myapp' }],
    want: 'service.namespace=default,service.version=v1.2.3,service.instance.id=default.$(POD_NAME).myapp',
  },
  {
    name: 'service.namespace annotation overrides k8s namespace',
    set: SEMCONV,
    namespace: 'actual-namespace',
    annotations: { 'resource.opentelemetry.io/service.namespace': 'annotated-ns' },
    containers: [{ name: 'myapp', image: 'myapp' }],
    want: 'service.namespace=annotated-ns,service.instance.id=actual-namespace.$(POD_NAME).myapp',
  },
  {
    name: 'service.version annotation overrides label',
    set: SEMCONV,
    namespace: 'default',
    annotations: { 'resource.opentelemetry.io/service.version': 'annotated-v1' },
    labels: { 'app.kubernetes.io/version': 'label-v2' },
    containers: [{ name: 'myapp', image: 'myapp' }],
    want: 'service.namespace=default,service.version=annotated-v1,service.instance.id=default.$(POD_NAME).myapp',
  },
  { name: 'empty namespace no containers', set: SEMCONV, namespace: '', want: '' },
  {
    name: 'service.version from single container image tag',
    set: SEMCONV,
    namespace: 'default',
    containers: [{ name: 'nginx', image: 'nginx:1.21' }],
    want: 'service.namespace=default,service.version=1.21,service.instance.id=default.$(POD_NAME).nginx',
  },
  {
    name: 'service.version from single container image digest',
    set: SEMCONV,
    namespace: 'default',
    containers: [{ name: 'nginx', image: 'nginx@sha256:abc123' }],
    want: 'service.namespace=default,service.version=sha256:abc123,service.instance.id=default.$(POD_NAME).nginx',
  },
  {
    name: 'service.version from single container image tag+digest',
    set: SEMCONV,
    namespace: 'default',
    containers: [{ name: 'nginx', image: 'nginx:1.21@sha256:abc123' }],
    want: 'service.namespace=default,service.version=1.21@sha256:abc123,service.instance.id=default.$(POD_NAME).nginx',
  },
  {
    name: 'service.version from image with registry port',
    set: SEMCONV,
    namespace: 'default',
    containers: [{ name: 'nginx', image: 'registry:5000/nginx:1.21' }],
    want: 'service.namespace=default,service.version=1.21,service.instance.id=default.$(POD_NAME).nginx',
  },
  {
    name: 'service.version skipped for multiple containers',
    set: SEMCONV,
    namespace: 'default',
    containers: [
      { name: 'nginx', image: 'nginx:1.21' },
      { name: 'sidecar', image: 'sidecar:2.0' },
    ],
    want: 'service.namespace=default,service.instance.id=default.$(POD_NAME).nginx',
  },
  {
    name: 'service.version skipped for image without tag or digest',
    set: SEMCONV,
    namespace: 'default',
    containers: [{ name: 'nginx', image: 'nginx' }],
    want: 'service.namespace=default,service.instance.id=default.$(POD_NAME).nginx',
  },
  {
    name: 'service.version label takes priority over image',
    set: SEMCONV,
    namespace: 'default',
    labels: { 'app.kubernetes.io/version': 'v1.2.3' },
    containers: [{ name: 'nginx', image: 'nginx:1.21' }],
    want: 'service.namespace=default,service.version=v1.2.3,service.instance.id=default.$(POD_NAME).nginx',
  },
];

// Ours, on the same rule: what the old code made up, and empty values that do not count.
export const OWN_ROWS: Row[] = [
  {
    name: 'no namespace in the request: no service.namespace, the instance id starts with an empty namespace',
    set: SEMCONV,
    namespace: '',
    containers: [{ name: 'web', image: 'example.com/web:2.4' }],
    want: 'service.version=2.4,service.instance.id=.$(POD_NAME).web',
  },
  {
    name: 'no version anywhere: no service.version (not the canonical revision "latest")',
    set: SEMCONV,
    namespace: 'shop',
    containers: [{ name: 'web', image: 'example.com/web' }],
    want: 'service.namespace=shop,service.instance.id=shop.$(POD_NAME).web',
  },
  {
    name: 'empty annotations and label fall through to the next source',
    set: SEMCONV,
    namespace: 'shop',
    annotations: {
      'resource.opentelemetry.io/service.namespace': '',
      'resource.opentelemetry.io/service.version': '',
      'resource.opentelemetry.io/service.instance.id': '',
    },
    labels: { 'app.kubernetes.io/version': '' },
    containers: [{ name: 'web', image: 'example.com:5000/web@sha256:0f1e' }],
    want: 'service.namespace=shop,service.version=sha256:0f1e,service.instance.id=shop.$(POD_NAME).web',
  },
];

/** The rows with a container (a pod without one is refused before injection). */
export const ROWS = [...ISTIO_ROWS, ...OWN_ROWS].filter((row) => row.containers !== undefined);

export function podOf(row: Row): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', ...(row.labels ? { labels: row.labels } : {}), ...(row.annotations ? { annotations: row.annotations } : {}) },
    spec: { containers: (row.containers ?? []) as Container[] },
  };
}

export function envOf(proxy: Container | undefined): string {
  expect(proxy).toBeDefined();
  return proxy!.env?.find((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value ?? '';
}
