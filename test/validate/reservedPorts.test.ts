/**
 * MW0101: a container port that is one of the ports the proxy owns in the pod's network namespace. The table is written
 * here literally (port and the name the message gives it), so dropping or renaming a port in
 * src/validate/podRules.ts fails this test.
 *
 * Reference: Istio's own list of data-plane ports (pilot/cmd/pilot-agent/status/server.go `istioReservedPorts` at
 * istio/istio 86c9f01fd735: 15000, 15001, 15004, 15006, 15008, 15020, 15021, 15053, 15090). mesh-webhook also reserves
 * 15009, which Istio's list does not have.
 *
 * Through the HTTPS endpoint (POST /validate, enforce mode: MW0101 is an error, so the pod is denied with the finding
 * in the message) and through the validator in process (createValidator), for containers and init containers.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createValidator } from '../../src/validate/index.js';
import { postValidate, validationReview, type Obj, useEnforcingServer } from './helpers.js';

const RESERVED: [number, string][] = [
  [15000, 'Envoy admin'],
  [15001, 'outbound capture'],
  [15004, 'debug'],
  [15006, 'inbound capture'],
  [15008, 'HBONE tunnel'],
  [15009, 'HBONE tunnel (plaintext)'],
  [15020, 'merged metrics and app probes'],
  [15021, 'health'],
  [15053, 'DNS proxy'],
  [15090, 'Envoy Prometheus'],
];

/** Every neighbour of a reserved port that is not reserved itself, plus a few well-known other ports. */
const NEIGHBOURS = [
  14999, 15002, 15003, 15005, 15007, 15010, 15011, 15012, 15014, 15017, 15019, 15022, 15052, 15054, 15089, 15091, 80, 8080, 9090,
];

function podWithPorts(ports: number[], where: 'containers' | 'initContainers' = 'containers'): Obj {
  const app = { name: 'app', image: 'example.com/app:1', ports: ports.map((p, i) => ({ name: `p${i}`, containerPort: p })) };
  const spec: Obj =
    where === 'containers'
      ? { containers: [app] }
      : { initContainers: [{ ...app, name: 'setup' }], containers: [{ name: 'app', image: 'example.com/app:1' }] };
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ports', namespace: 'shop' }, spec };
}

const message = (port: number, name: string) => `port ${port} is reserved by the proxy (${name}); move the application to another port`;

describe('MW0101 through POST /validate (enforce)', () => {
  const server = useEnforcingServer();

  it.each(RESERVED)('port %d (%s) is reported and the pod denied', async (port, name) => {
    const answer = await postValidate(server, validationReview(podWithPorts([port])));
    expect(answer.allowed).toBe(false);
    expect(answer.code).toBe(403);
    expect(answer.message).toContain(`MW0101 Pod shop/ports spec.containers[0].ports[0]: ${message(port, name)}`);
  });

  it.each(NEIGHBOURS)('port %d is not reserved: allowed', async (port) => {
    const answer = await postValidate(server, validationReview(podWithPorts([port])));
    expect(answer.allowed).toBe(true);
    expect(answer.audit ?? '').not.toContain('MW0101');
  });
});

describe('MW0101 through the validator', () => {
  const validator = createValidator(loadConfig({}));
  const mw0101 = (object: Obj) => validator.validate(object).filter((f) => f.code === 'MW0101');

  it('all reserved ports of one container: one finding each, in port order, with its name', () => {
    const findings = mw0101(podWithPorts(RESERVED.map(([p]) => p)));
    expect(findings.map((f) => [f.path, f.message])).toEqual(RESERVED.map(([p, name], i) => [`spec.containers[0].ports[${i}]`, message(p, name)]));
    expect(findings.every((f) => f.severity === 'error' && f.object === 'Pod shop/ports')).toBe(true);
  });

  it('init containers are checked too', () => {
    const findings = mw0101(podWithPorts(RESERVED.map(([p]) => p), 'initContainers'));
    expect(findings.map((f) => f.path)).toEqual(RESERVED.map((_, i) => `spec.initContainers[0].ports[${i}]`));
  });

  it('no neighbour is reported', () => {
    expect(mw0101(podWithPorts(NEIGHBOURS))).toEqual([]);
  });

  it('every port from 14990 to 15100: exactly the table is reserved', () => {
    const range = Array.from({ length: 111 }, (_, i) => 14990 + i);
    const reported = mw0101(podWithPorts(range)).map((f) => range[Number(/ports\[(\d+)\]$/.exec(f.path)![1])]);
    expect(reported).toEqual(RESERVED.map(([p]) => p));
  });

  it('a workload template is checked at its template path', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { template: { metadata: { labels: { app: 'web' } }, spec: (podWithPorts([15009]) as { spec: Obj }).spec } },
    };
    expect(mw0101(deployment).map((f) => [f.path, f.message])).toEqual([['spec.template.spec.containers[0].ports[0]', message(15009, 'HBONE tunnel (plaintext)')]]);
  });
});
