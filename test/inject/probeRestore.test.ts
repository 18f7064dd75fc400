/**
 * restoreContainerProbes (src/inject/probes.ts), which `outdated --diff` uses to take an injection off a pod, undoes
 * rewriteContainerProbes: rewritten with the status port, then restored from the ISTIO_KUBE_APP_PROBERS the rewrite
 * wrote, every probe and lifecycle hook with a numeric port is the original again.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { appProbers, restoreContainerProbes, rewriteContainerProbes } from '../../src/inject/probes.js';
import type { Container } from '../../src/k8s/types.js';

const STATUS_PORT = 15020;
const port = fc.integer({ min: 1, max: 65535 }).filter((p) => p !== STATUS_PORT);
const handler = fc.oneof(
  fc.record({ httpGet: fc.record({ path: fc.constantFrom('/ready', '/healthz'), port }) }),
  fc.record({ tcpSocket: fc.record({ port }) }),
);
const probe = fc.option(fc.tuple(handler, fc.integer({ min: 1, max: 30 })).map(([h, periodSeconds]) => ({ ...h, periodSeconds })), { nil: undefined });
const container = fc
  .record({ name: fc.constantFrom('app', 'web'), readinessProbe: probe, livenessProbe: probe, startupProbe: probe, preStop: fc.option(handler, { nil: undefined }) })
  .map(({ preStop, ...c }) => {
    const out: Record<string, unknown> = { name: c.name, image: 'app' };
    for (const [k, v] of Object.entries(c)) if (v !== undefined && k !== 'name') out[k] = v;
    if (preStop) out.lifecycle = { preStop };
    return out as unknown as Container;
  });

it('undoes the rewrite for every probe and hook with a numeric port', () => {
  fc.assert(
    fc.property(container, (c) => {
      const rewritten = rewriteContainerProbes(c, STATUS_PORT);
      const probers = JSON.parse(appProbers([c], STATUS_PORT) || '{}') as Record<string, unknown>;
      expect(restoreContainerProbes(rewritten, probers)).toEqual(c);
    }),
  );
});

it('leaves a probe alone that the rewrite did not point at the proxy', () => {
  const c = { name: 'app', image: 'app', readinessProbe: { httpGet: { path: '/ready', port: 8080 } } } as Container;
  expect(restoreContainerProbes(c, { '/app-health/app/readyz': { httpGet: { path: '/other', port: 1 } } })).toEqual(c);
});
