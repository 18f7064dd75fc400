/**
 * Which of the webhooks Istio's chart renders with `sidecarInjectorWebhook.enableNamespacesByDefault: false` selects a
 * pod (the Istio project, Apache License 2.0, istio/istio 86c9f01fd735,
 * manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml; test/fixtures/istio/NOTICE): each
 * row is one namespace and pod, and the webhook that selects it, written out from the chart's selectors.
 */
import { describe, expect, test } from 'vitest';
import { webhookSelects } from '../../src/inject/decision.js';

type Labels = Record<string, string>;
const ROWS: { what: string; ns: Labels; pod: Labels; revision?: string; selectedBy: string | undefined }[] = [
  { what: 'namespace istio-injection=enabled', ns: { 'istio-injection': 'enabled' }, pod: {}, selectedBy: 'namespace' },
  { what: 'namespace istio-injection=enabled wins over istio.io/rev', ns: { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }, pod: {}, selectedBy: 'namespace' },
  { what: 'namespace istio-injection=disabled', ns: { 'istio-injection': 'disabled' }, pod: { 'sidecar.istio.io/inject': 'true' }, selectedBy: undefined },
  { what: 'namespace istio-injection with another value', ns: { 'istio-injection': 'yes' }, pod: {}, selectedBy: undefined },
  { what: 'unlabelled namespace, unlabelled pod', ns: {}, pod: {}, selectedBy: undefined },
  { what: 'unlabelled namespace, pod sidecar.istio.io/inject=true', ns: {}, pod: { 'sidecar.istio.io/inject': 'true' }, selectedBy: 'object' },
  { what: 'pod sidecar.istio.io/inject=true and istio.io/rev of another revision', ns: {}, pod: { 'sidecar.istio.io/inject': 'true', 'istio.io/rev': 'canary' }, selectedBy: undefined },
  { what: 'pod sidecar.istio.io/inject=false in an enabled namespace', ns: { 'istio-injection': 'enabled' }, pod: { 'sidecar.istio.io/inject': 'false' }, selectedBy: undefined },
  { what: 'namespace istio.io/rev=default', ns: { 'istio.io/rev': 'default' }, pod: {}, selectedBy: 'rev.namespace' },
  { what: 'namespace istio.io/rev=canary (another revision)', ns: { 'istio.io/rev': 'canary' }, pod: {}, selectedBy: undefined },
  { what: 'pod istio.io/rev=default in an unlabelled namespace', ns: {}, pod: { 'istio.io/rev': 'default' }, selectedBy: 'rev.object' },
  { what: 'pod istio.io/rev=default in a namespace of another revision', ns: { 'istio.io/rev': 'canary' }, pod: { 'istio.io/rev': 'default' }, selectedBy: undefined },
  { what: 'pod sidecar.istio.io/inject=true in a namespace of another revision', ns: { 'istio.io/rev': 'canary' }, pod: { 'sidecar.istio.io/inject': 'true' }, selectedBy: undefined },
  { what: 'revision canary: namespace istio.io/rev=canary', ns: { 'istio.io/rev': 'canary' }, pod: {}, revision: 'canary', selectedBy: 'rev.namespace' },
  { what: 'revision canary: namespace istio-injection=enabled is the default revision\'s', ns: { 'istio-injection': 'enabled' }, pod: {}, revision: 'canary', selectedBy: undefined },
  { what: 'revision canary: pod istio.io/rev=canary', ns: {}, pod: { 'istio.io/rev': 'canary' }, revision: 'canary', selectedBy: 'rev.object' },
  { what: 'revision canary: pod sidecar.istio.io/inject=true alone', ns: {}, pod: { 'sidecar.istio.io/inject': 'true' }, revision: 'canary', selectedBy: undefined },
];

describe("Istio's webhook selectors with enableNamespacesByDefault: false", () => {
  test.each(ROWS)('$what → $selectedBy', ({ ns, pod, revision, selectedBy }) => {
    expect(webhookSelects(ns, pod, revision ?? 'default')).toBe(selectedBy);
  });
});

/**
 * With `enableNamespacesByDefault: true` the chart adds the default revision's `auto.` webhook: a namespace with
 * neither injection label (not one of Istio's ignored namespaces) and a pod with neither sidecar.istio.io/inject nor
 * istio.io/rev. The other four keep their precedence.
 */
const AUTO_ROWS: { what: string; ns: Labels; pod: Labels; revision?: string; selectedBy: string | undefined }[] = [
  { what: 'unlabelled namespace, unlabelled pod', ns: {}, pod: {}, selectedBy: 'auto' },
  { what: 'a pod labelled with another revision', ns: {}, pod: { 'istio.io/rev': 'canary' }, selectedBy: undefined },
  { what: 'a pod labelled sidecar.istio.io/inject with another value than true/false', ns: {}, pod: { 'sidecar.istio.io/inject': 'yes' }, selectedBy: undefined },
  { what: 'a pod labelled sidecar.istio.io/inject=true is object\'s', ns: {}, pod: { 'sidecar.istio.io/inject': 'true' }, selectedBy: 'object' },
  { what: 'a namespace labelled istio-injection with another value', ns: { 'istio-injection': 'yes' }, pod: {}, selectedBy: undefined },
  { what: 'a namespace of another revision', ns: { 'istio.io/rev': 'canary' }, pod: {}, selectedBy: undefined },
  { what: 'kube-system, by its kubernetes.io/metadata.name label', ns: { 'kubernetes.io/metadata.name': 'kube-system' }, pod: {}, selectedBy: undefined },
  { what: 'another namespace, by its kubernetes.io/metadata.name label', ns: { 'kubernetes.io/metadata.name': 'shop' }, pod: {}, selectedBy: 'auto' },
  { what: 'a revisioned istiod has no auto webhook', ns: {}, pod: {}, revision: 'canary', selectedBy: undefined },
];

describe("Istio's webhook selectors with enableNamespacesByDefault: true (the auto webhook)", () => {
  test.each(AUTO_ROWS)('$what → $selectedBy', ({ ns, pod, revision, selectedBy }) => {
    expect(webhookSelects(ns, pod, revision ?? 'default', true)).toBe(selectedBy);
  });
});
