/**
 * OTEL_RESOURCE_ATTRIBUTES of the proxy follows Istio's otelResourceAttributes (pkg/kube/inject/template.go): each
 * attribute from its annotation, then the namespace / `app.kubernetes.io/version` label / single container's image
 * tag or digest / first container; nothing is made up when the pod or request has none. Every row of Istio's
 * TestOtelResourceAttributes (pkg/kube/inject/template_test.go, istio/istio 86c9f01fd735; see
 * test/fixtures/istio/NOTICE) is checked against the ported function with Istio's own inputs, and every row with a
 * container (a pod without one is refused before injection) through the HTTPS webhook with the patch applied and
 * through the built CLI (test/cli/fidelity.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { otelResourceAttributes } from '../../src/inject/otel.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, container } from './review.js';
import { CANONICAL, envOf, ISTIO_ROWS, podOf, ROWS, SEMCONV } from './otelResourceAttributes.rows.js';

describe("otelResourceAttributes on Istio's inputs (the enrichment setting decides whether it runs at all)", () => {
  for (const row of ISTIO_ROWS.filter((r) => r.set === SEMCONV)) {
    it(row.name, () => {
      expect(otelResourceAttributes(row.annotations ?? {}, row.labels ?? {}, row.namespace, row.containers ?? [])).toBe(row.want);
    });
  }
});

describe('OTEL_RESOURCE_ATTRIBUTES through the HTTPS webhook', () => {
  const servers = new Map<string, TestServer>();
  beforeAll(async () => {
    for (const set of [undefined, SEMCONV, CANONICAL]) {
      servers.set(set ?? '', await startTestServer(createRuntime(loadConfig({ profile: 'istio', sets: set ? [set] : [] }))));
    }
  });
  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
  });

  for (const row of ROWS) {
    it(row.name, async () => {
      const answer = await admitPod(servers.get(row.set ?? '')!, podOf(row), row.namespace);
      expect(answer.allowed).toBe(true);
      expect(envOf(container(answer.pod, 'istio-proxy'))).toBe(row.want);
    });
  }
});

