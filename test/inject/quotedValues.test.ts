/**
 * Messages quote at most 256 characters of anything a pod supplies (then `…(N characters)`): a 300 KB
 * `inject.istio.io/templates` value gave a 319 KB status.message. A 300 KB value is now stopped before the injector by
 * the admission limits (annotations over 256 KiB, Kubernetes' own limit), with a bounded message too; the hostile
 * values that reach the injector here are 200,000 characters, sent through the real HTTPS webhook (status.message and
 * the audit annotation) and through the validator (findings).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { createValidator } from '../../src/validate/index.js';
import type { Pod } from '../../src/k8s/types.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod } from './review.js';

const N = 200_000;
const big = (c: string) => c.repeat(N);
const CUT = `…(${N} characters)`;
/** Generous bound for a message quoting a few capped values. */
const BOUND = 2_000;

let kyma: TestServer;
let istio: TestServer;
beforeAll(async () => {
  kyma = await startTestServer(createRuntime(loadConfig({})));
  istio = await startTestServer(createRuntime(loadConfig({ profile: 'istio' })));
});
afterAll(async () => {
  await Promise.all([kyma.close(), istio.close()]);
});

describe('status.message of a refused pod is bounded', () => {
  it('inject.istio.io/templates of 300 KB through the webhook: a short message', async () => {
    const answer = await admitPod(kyma, appPod({ annotations: { 'inject.istio.io/templates': 'x'.repeat(300_000) } }));
    expect(answer.allowed).toBe(false);
    expect(answer.message!.length).toBeLessThan(BOUND);
  });

  it('inject.istio.io/templates of 300 KB: the exact message, 256 characters of each quoted value', async () => {
    const answer = await admitPod(kyma, appPod({ annotations: { 'inject.istio.io/templates': big('x') } }));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(
      `invalid value '${'x'.repeat(256)}${CUT}' for annotation 'inject.istio.io/templates': requested template '${'x'.repeat(256)}${CUT}' not found; have [sidecar]`,
    );
    expect(answer.audit).toBe(`rejected: unknown injection template ${'x'.repeat(256)}${CUT}`);
  });

  const cases: [string, Pod, TestServer | (() => TestServer)][] = [
    ['a CIDR list', appPod({ annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': big('1') } }), () => kyma],
    ['a port list', appPod({ annotations: { 'traffic.sidecar.istio.io/includeOutboundPorts': big('9') } }), () => kyma],
    ['an interface list', appPod({ annotations: { 'traffic.sidecar.istio.io/excludeInterfaces': big('e') } }), () => kyma],
    ['a userVolume name (hostPath)', appPod({ annotations: { 'sidecar.istio.io/userVolume': JSON.stringify({ [big('v')]: { hostPath: { path: '/' } } }) } }), () => kyma],
    ['a proxy image', appPod({ annotations: { 'sidecar.istio.io/proxyImage': `evil.example.com/${big('i')}` } }), () => kyma],
    ['an image in proxy.istio.io/overrides', appPod({ annotations: { 'proxy.istio.io/overrides': JSON.stringify({ initContainers: [{ name: 'istio-proxy', image: `evil.example.com/${big('i')}` }] }) } }), () => kyma],
    ['a command in proxy.istio.io/overrides', appPod({ annotations: { 'proxy.istio.io/overrides': JSON.stringify({ initContainers: [{ name: 'istio-init', command: [big('c')] }] }) } }), () => kyma],
    ['an env name in proxyMetadata', appPod({ annotations: { 'proxy.istio.io/config': `proxyMetadata:\n  LD_${big('A').slice(0, 60_000)}: x\n` } }), () => kyma],
    ['an unknown ProxyConfig field', appPod({ annotations: { 'proxy.istio.io/config': `${big('f').slice(0, 60_000)}: 1\n` } }), () => kyma],
    ['a prometheus.io/port (metrics merged)', appPod({ annotations: { 'prometheus.io/port': big('p') } }), () => istio],
  ];

  it.each(cases)('%s', async (_what, pod, server) => {
    const answer = await admitPod(typeof server === 'function' ? server() : server, pod);
    expect(answer.allowed).toBe(false);
    expect(answer.message!.length).toBeLessThan(BOUND);
    expect(answer.message).toContain('characters)');
  });
});

describe('audit annotations and findings are bounded too', () => {
  it('an ignored sidecar.istio.io/inject value in the injection reason', async () => {
    const answer = await admitPod(kyma, appPod({ annotations: { 'sidecar.istio.io/inject': big('y') } }));
    expect(answer.allowed).toBe(true);
    expect(answer.audit!.length).toBeLessThan(BOUND);
    // The reason quotes the value as JSON (with its quotes): 200,002 characters, cut at 256.
    expect(answer.audit).toBe(`injected: policy enabled (ignored annotation sidecar.istio.io/inject="${'y'.repeat(255)}…(${N + 2} characters): use "true" or "false")`);
  });

  it('the validator: IST0125, IST0108 and MW0601 messages, and the object name', () => {
    const validator = createValidator(loadConfig({}));
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: big('n'),
        namespace: 'shop',
        annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': big('x'), [`sidecar.istio.io/${big('k')}`]: 'v', 'sidecar.istio.io/proxyImage': `evil.example.com/${big('i')}` },
      },
      spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
    };
    const findings = validator.validate(pod, 'shop');
    expect(findings.map((f) => f.code).sort()).toEqual(['IST0108', 'IST0125', 'MW0601']);
    for (const f of findings) {
      expect(f.message.length + f.path.length + f.object.length).toBeLessThan(BOUND);
      expect(f.object).toBe(`Pod shop/${'n'.repeat(256)}${CUT}`);
    }
  });
});
