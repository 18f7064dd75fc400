/**
 * Metrics merge with scrape targets and the secure metrics port through the built CLI (`mesh-webhook inject --profile
 * istio`), by Istio's applyPrometheusMerge and applySecurePrometheusAnnotation (pkg/kube/inject/webhook.go at
 * istio/istio 86c9f01fd735). Every rule with Istio's rows through HTTPS: test/inject/scrapeTargets.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/k8s/types.js';
import { ensureBuilt } from '../helpers/build.js';
import { cliPods, injectedPod, type CliPods } from '../helpers/cliPods.js';
import { appPod, container, env } from '../inject/review.js';

const TARGETS = 'prometheus.istio.io/scrape-targets';
const MERGED = { 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus', 'prometheus.io/scrape': 'true' };

const scrapeEnv = (pod: Pod) => env(container(pod, 'istio-proxy'), 'ISTIO_PROMETHEUS_ANNOTATIONS');
/** The pod's annotations with `prometheus` in their key. */
function annotationsOf(pod: Pod): Record<string, string> {
  return Object.fromEntries(Object.entries(pod.metadata!.annotations!).filter(([k]) => k.includes('prometheus')));
}
const targetsPod = (targets: string, extra: Record<string, string> = {}) =>
  appPod({ annotations: { 'prometheus.io/scrape': 'true', [TARGETS]: targets, ...extra } });

let cli: CliPods;
beforeAll(() => {
  ensureBuilt();
  cli = cliPods('mesh-webhook-scrape-');
}, 120_000);
afterAll(() => cli?.remove());

describe('CLI (mesh-webhook inject --profile istio)', () => {
  it('targets merged: the annotations point at the proxy, the proxy is told the targets', async () => {
    const run = await cli.inject(targetsPod(' 9100:/custom , 8080 ', { 'prometheus.io/port': '9102' }), ['--profile', 'istio']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const pod = injectedPod(run.stdout);
    expect(annotationsOf(pod)).toEqual(MERGED);
    expect(scrapeEnv(pod)).toBe('{"scrape":"true","path":"/custom","port":"9100","targets":[{"port":"9100","path":"/custom"},{"port":"8080","path":"/metrics"}]}');
  });

  it('an unparsable targets annotation is ignored and removed', async () => {
    const run = await cli.inject(targetsPod('8080,:/bad'), ['--profile', 'istio']);
    expect(run.status).toBe(0);
    const pod = injectedPod(run.stdout);
    expect(annotationsOf(pod)).toEqual(MERGED);
    expect(scrapeEnv(pod)).toBe('{"scrape":"true","path":"","port":""}');
  });

  it('a reserved target port: exit 1, the message in Istio\'s words', async () => {
    const run = await cli.inject(targetsPod('8080,15021:/stats'), ['--profile', 'istio']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `error: document 1 (Pod "app"): invalid prometheus scrape targets: target port 15021 is reserved for Istio (Envoy health) and cannot be scraped; list the application's own metrics ports in the annotation 'prometheus.istio.io/scrape-targets'\n`,
    );
  });

  it('a reserved prometheus.io/port: exit 1', async () => {
    const run = await cli.inject(appPod({ annotations: { 'prometheus.io/port': '15000' } }), ['--profile', 'istio']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `error: document 1 (Pod "app"): invalid prometheus scrape configuration: port 15000 is reserved for Istio (Envoy admin) and cannot be scraped; set the annotation 'prometheus.io/port' to the application's own metrics port\n`,
    );
  });

  it('secure metrics port: set from the proxy env, none for 0', async () => {
    const [set, zero] = await Promise.all(
      ['15092', '0'].map((port) =>
        cli.inject(appPod({ annotations: { 'proxy.istio.io/config': `proxyMetadata: {ENVOY_SECURE_MERGED_METRICS_PORT: "${port}"}` } }), ['--profile', 'istio']),
      ),
    );
    expect(set!.status).toBe(0);
    expect(injectedPod(set!.stdout).metadata!.annotations!['prometheus.istio.io/secure-port']).toBe('15092');
    expect(zero!.status).toBe(0);
    expect(injectedPod(zero!.stdout).metadata!.annotations!['prometheus.istio.io/secure-port']).toBeUndefined();
  });
});
