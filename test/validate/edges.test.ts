/** Edge cases of the rules engine found in review: look-alike hosts, inherited UIDs, Service/Namespace annotations, malformed ports. */
import { describe, expect, it } from 'vitest';
import { profileConfig } from '../../src/config/profiles.js';
import { createInjector } from '../../src/inject/index.js';
import { createValidator } from '../../src/validate/index.js';

const validator = createValidator(profileConfig('kyma'));
const codes = (obj: unknown) => validator.validate(obj).map((f) => f.code);

function pod(spec: Record<string, unknown>) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec };
}

describe('rules engine edge cases', () => {
  it('MW0104 reports exec probes to look-alike localhost hosts, not to localhost itself', () => {
    const probe = (url: string) => pod({ containers: [{ name: 'a', image: 'a', readinessProbe: { exec: { command: ['curl', url] } } }] });
    expect(codes(probe('http://localhost.attacker.example/health'))).toContain('MW0104');
    expect(codes(probe('http://127.0.0.10/health'))).toContain('MW0104');
    expect(codes(probe('http://localhost:8080/health'))).not.toContain('MW0104');
    expect(codes(probe('http://127.0.0.1/health'))).not.toContain('MW0104');
  });

  it('IST0144 at pod level whenever the pod runs as 1337, as applicationUID.Analyzer reports it (containers may override)', () => {
    expect(codes(pod({ securityContext: { runAsUser: 1337 }, containers: [{ name: 'a', image: 'a', securityContext: { runAsUser: 1000 } }] }))).toEqual(['IST0144']);
    expect(codes(pod({ securityContext: { runAsUser: 1337 }, containers: [{ name: 'a', image: 'a' }] }))).toEqual(['IST0144']);
  });

  it('checks Istio annotations on Services and Namespaces too', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default', annotations: { 'networking.istio.io/exportTo': '.', 'sidecar.istio.io/injekt': 'x' } }, spec: { ports: [{ name: 'http', port: 80 }] } };
    expect(codes(svc)).toEqual(['IST0108']);
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', annotations: { 'sidecar.istio.io/proxyCPU': '1' } } };
    expect(codes(ns)).toEqual(['IST0107']);
  });

  it('a malformed port list is a clear injector error, not a crash', () => {
    const outcome = createInjector(profileConfig('kyma')).inject({ pod: pod({ containers: [{ name: 'a', image: 'a', ports: [null, 5] }] }) as never });
    expect(outcome).toMatchObject({ kind: 'rejected', message: expect.stringContaining('spec.containers[0].ports[0] must be an object') });
    expect(codes(pod({ containers: [{ name: 'a', image: 'a', ports: [null, 5] }] }))).toEqual(['MW0401']);
  });
});
