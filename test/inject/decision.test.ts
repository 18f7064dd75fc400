/**
 * The injection decision, rule by rule, through the real HTTPS webhook (Kyma profile unless stated):
 * each row posts a pod and checks whether it came back with a sidecar, and the recorded reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileConfig } from '../../src/config/profiles.js';
import type { InjectorConfig } from '../../src/config/types.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container } from './review.js';

const kyma: InjectorConfig = {
  ...profileConfig('kyma'),
  neverInjectSelector: [{ matchLabels: { 'skip-mesh': 'yes' } }],
  alwaysInjectSelector: [{ matchExpressions: [{ key: 'mesh', operator: 'In', values: ['always'] }] }],
  namespaceLabels: {
    optout: { 'istio-injection': 'disabled' },
    'shoot-system': { 'gardener.cloud/purpose': 'kube-system' },
  },
};
const disabledPolicy: InjectorConfig = { ...kyma, policy: 'disabled' };

let server: TestServer;
let disabledServer: TestServer;
beforeAll(async () => {
  server = await startTestServer(() => createRuntime(kyma));
  disabledServer = await startTestServer(() => createRuntime(disabledPolicy));
});
afterAll(async () => {
  await server.close();
  await disabledServer.close();
});

interface Row {
  name: string;
  pod: ReturnType<typeof appPod>;
  namespace?: string;
  policyDisabled?: boolean;
  injected: boolean;
  reason: string;
}

const rows: Row[] = [
  { name: 'plain pod, policy enabled', pod: appPod(), injected: true, reason: 'injected: policy enabled' },
  { name: 'hostNetwork', pod: appPod({ spec: { hostNetwork: true } }), injected: false, reason: 'skipped: hostNetwork' },
  { name: 'kube-system (Istio ignored)', pod: appPod(), namespace: 'kube-system', injected: false, reason: 'skipped: namespace kube-system is never injected' },
  { name: 'kube-public', pod: appPod(), namespace: 'kube-public', injected: false, reason: 'never injected' },
  { name: 'kube-node-lease', pod: appPod(), namespace: 'kube-node-lease', injected: false, reason: 'never injected' },
  { name: 'local-path-storage', pod: appPod(), namespace: 'local-path-storage', injected: false, reason: 'never injected' },
  { name: 'istio-system (Kyma excluded)', pod: appPod(), namespace: 'istio-system', injected: false, reason: 'skipped: namespace istio-system is excluded (excludedNamespaces)' },
  { name: 'namespace istio-injection=disabled', pod: appPod(), namespace: 'optout', injected: false, reason: 'istio-injection=disabled' },
  { name: 'Gardener kube-system namespace', pod: appPod(), namespace: 'shoot-system', injected: false, reason: 'gardener.cloud/purpose=kube-system' },
  {
    name: 'namespace opt-out beats pod label true',
    pod: appPod({ labels: { 'sidecar.istio.io/inject': 'true' } }),
    namespace: 'optout',
    injected: false,
    reason: 'istio-injection=disabled',
  },
  { name: 'pod label false', pod: appPod({ labels: { 'sidecar.istio.io/inject': 'false' } }), injected: false, reason: 'skipped: label sidecar.istio.io/inject=false' },
  { name: 'pod annotation false', pod: appPod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), injected: false, reason: 'skipped: annotation sidecar.istio.io/inject=false' },
  {
    name: 'label beats annotation',
    pod: appPod({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } }),
    injected: true,
    reason: 'injected: label sidecar.istio.io/inject=true',
  },
  {
    name: 'unrecognised label value falls back to the default',
    pod: appPod({ labels: { 'sidecar.istio.io/inject': 'yes' } }),
    injected: true,
    reason: 'ignored label sidecar.istio.io/inject="yes"',
  },
  { name: 'neverInjectSelector', pod: appPod({ labels: { 'skip-mesh': 'yes' } }), injected: false, reason: 'neverInjectSelector skip-mesh=yes' },
  {
    name: 'explicit label beats neverInjectSelector',
    pod: appPod({ labels: { 'skip-mesh': 'yes', 'sidecar.istio.io/inject': 'true' } }),
    injected: true,
    reason: 'label sidecar.istio.io/inject=true',
  },
  { name: 'policy disabled', pod: appPod(), policyDisabled: true, injected: false, reason: 'skipped: policy disabled' },
  { name: 'policy disabled, alwaysInjectSelector', pod: appPod({ labels: { mesh: 'always' } }), policyDisabled: true, injected: true, reason: 'alwaysInjectSelector mesh In (always)' },
  {
    name: 'policy disabled, pod annotation true',
    pod: appPod({ annotations: { 'sidecar.istio.io/inject': 'true' } }),
    policyDisabled: true,
    injected: true,
    reason: 'annotation sidecar.istio.io/inject=true',
  },
  {
    name: 'never beats always when both match',
    pod: appPod({ labels: { 'skip-mesh': 'yes', mesh: 'always' } }),
    policyDisabled: true,
    injected: false,
    reason: 'neverInjectSelector',
  },
];

describe('injection decision over HTTPS', () => {
  it.each(rows)('$name', async (row) => {
    const answer = await admitPod(row.policyDisabled ? disabledServer : server, row.pod, row.namespace ?? 'default');
    expect(answer.allowed).toBe(true);
    expect(answer.audit).toContain(row.reason);
    if (row.injected) {
      expect(answer.audit).toMatch(/^injected: /);
      expect(container(answer.pod, 'istio-proxy')).toBeDefined();
    } else {
      expect(answer.audit).toMatch(/^skipped: /);
      expect(answer.patch).toBeUndefined();
      expect(answer.pod).toEqual(row.pod);
    }
  });

  it('uses request.namespace when the pod has none, and the pod namespace when set', async () => {
    const inSystem = appPod();
    inSystem.metadata!.namespace = 'kube-system';
    expect((await admitPod(server, inSystem, 'default')).audit).toContain('kube-system');
    expect((await admitPod(server, appPod(), 'kube-system')).audit).toContain('kube-system');
  });

  it('istio profile does not exclude istio-system in-process (Istio leaves that to the webhook selectors)', async () => {
    const istio = await startTestServer(() => createRuntime(profileConfig('istio')));
    try {
      const answer = await admitPod(istio, appPod(), 'istio-system');
      expect(answer.audit).toMatch(/^injected/);
    } finally {
      await istio.close();
    }
  });
});

describe('cluster-aware decisions (informer caches)', () => {
  const labels: Record<string, Record<string, string>> = {
        legacy: { 'istio-injection': 'disabled' },
        canary: { 'istio.io/rev': '1-31' },
        both: { 'istio.io/rev': '1-31', 'istio-injection': 'enabled' },
        mine: { 'istio.io/rev': 'default' },
        hibernating: { 'gardener.cloud/purpose': 'kube-system' },
  };
  const cluster = {
    namespaceLabels: (ns: string) => labels[ns],
    nativeSidecarsSupported: (node?: string) => (node === undefined ? true : node !== 'old-node'),
  };
  let clustered: TestServer;
  beforeAll(async () => {
    clustered = await startTestServer(() => createRuntime({ ...profileConfig('kyma'), nativeSidecars: 'auto' }, cluster));
  });
  afterAll(async () => {
    await clustered.close();
  });

  it.each([
    ['legacy', false, 'istio-injection=disabled'],
    ['canary', false, 'istio.io/rev=1-31, this injector serves revision default'],
    ['both', true, 'policy enabled'],
    ['mine', true, 'policy enabled'],
    ['hibernating', false, 'gardener.cloud/purpose=kube-system'],
    ['unknown', true, 'policy enabled'],
  ])('namespace %s → injected %s (%s)', async (namespace, injected, reason) => {
    const answer = await admitPod(clustered, appPod(), namespace);
    expect(answer.audit).toContain(reason);
    expect(answer.audit!.startsWith(injected ? 'injected' : 'skipped')).toBe(true);
  });

  it('nativeSidecars auto follows the node versions', async () => {
    const unscheduled = await admitPod(clustered, appPod());
    expect(unscheduled.pod.spec!.initContainers!.map((c) => c.name)).toContain('istio-proxy');
    const onOldNode = await admitPod(clustered, appPod({ spec: { nodeName: 'old-node' } }));
    expect(onOldNode.pod.spec!.containers!.map((c) => c.name)).toContain('istio-proxy');
    const noCluster = await startTestServer(() => createRuntime({ ...profileConfig('kyma'), nativeSidecars: 'auto' }));
    try {
      const unknown = await admitPod(noCluster, appPod());
      expect(unknown.pod.spec!.containers!.map((c) => c.name)).toContain('istio-proxy');
    } finally {
      await noCluster.close();
    }
  });
});

describe('opt-in injection with the namespace cache (istio profile: enableNamespacesByDefault false), over HTTPS', () => {
  const labels: Record<string, Record<string, string>> = {
    meshed: { 'istio-injection': 'enabled' },
    plain: { team: 'payments' },
    mine: { 'istio.io/rev': 'default' },
  };
  const cluster = { namespaceLabels: (ns: string) => labels[ns], nativeSidecarsSupported: () => true };
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(createRuntime(profileConfig('istio'), cluster));
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['meshed', {}, true, 'policy enabled'],
    ['mine', {}, true, 'policy enabled'],
    ['plain', {}, false, 'opt-in injection: namespace plain is not labelled istio-injection=enabled'],
    ['plain', { 'sidecar.istio.io/inject': 'true' }, true, 'label sidecar.istio.io/inject=true'],
    ['plain', { 'istio.io/rev': 'default' }, true, 'policy enabled'],
    // Labels unknown to the cache: Istio's injector decides as it would behind its selectors.
    ['unknown', {}, true, 'policy enabled'],
  ] as const)('namespace %s, pod labels %j → injected %s (%s)', async (namespace, podLabels, injected, reason) => {
    const answer = await admitPod(server, appPod({ labels: { ...podLabels } }), namespace);
    expect(answer.audit).toContain(reason);
    expect(answer.audit!.startsWith(injected ? 'injected' : 'skipped')).toBe(true);
  });
});
