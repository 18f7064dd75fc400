/**
 * The NetworkPolicies (manifests/components/network-policy/*): who may connect to the mesh-webhook pods. The webhook
 * port (8443) only from the API server's path into the cluster, the plain-HTTP metrics port (9090) only from
 * Prometheus, nothing else. Only the Gardener variant (Kyma's platform, with evidence) is enabled, by the kyma overlay;
 * the others ship with a placeholder the API server rejects until the operator fills it in.
 *
 * A NetworkPolicy that shuts out the API server makes every pod creation in the selected namespaces fail (the mutating
 * webhook has failurePolicy: Fail), so the peers are checked exactly, and also by evaluating the rules for a few
 * sources the way the NetworkPolicy API defines them.
 */
import { describe, expect, it } from 'vitest';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { parseCommandLine } from '../../src/cli/args.js';
import { renderComposition, renderOverlay, type Obj } from './render.js';

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface IngressRule {
  from?: Peer[];
  ports?: { protocol?: string; port?: number | string; endPort?: number }[];
}
interface NetworkPolicyView extends Obj {
  spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: IngressRule[]; egress?: unknown };
}
interface DeploymentView extends Obj {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { args?: string[]; ports?: { name?: string; containerPort: number }[] }[] } } };
}

const APP = { 'app.kubernetes.io/name': 'mesh-webhook' };
const WEBHOOK_PORT = [{ protocol: 'TCP', port: 8443 }];
const METRICS_RULE: IngressRule = {
  from: [
    {
      namespaceSelector: {},
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/managed-by': 'prometheus-operator' } },
    },
  ],
  ports: [{ protocol: 'TCP', port: 9090 }],
};
const KUBE_SYSTEM = { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } };

/** Each variant's policy, written out: the peers documented in docs/security.md, "NetworkPolicy". */
const VARIANTS: Record<string, { name: string; webhookPeers: Peer[] }> = {
  gardener: {
    name: 'mesh-webhook-gardener',
    webhookPeers: [{ namespaceSelector: KUBE_SYSTEM, podSelector: { matchLabels: { app: 'vpn-shoot' } } }],
  },
  gke: {
    name: 'mesh-webhook-gke',
    webhookPeers: [
      { namespaceSelector: KUBE_SYSTEM, podSelector: { matchLabels: { 'k8s-app': 'konnectivity-agent' } } },
      { ipBlock: { cidr: 'REPLACE-WITH-CONTROL-PLANE-CIDR' } },
    ],
  },
  eks: { name: 'mesh-webhook-eks', webhookPeers: [{ ipBlock: { cidr: 'REPLACE-WITH-CLUSTER-SUBNET-CIDR' } }] },
  'node-cidr': { name: 'mesh-webhook-node-cidr', webhookPeers: [{ ipBlock: { cidr: 'REPLACE-WITH-CONTROL-PLANE-NODE-CIDR' } }] },
};
/** Enabled by default (in the kyma overlay, so in all three): only the variant with evidence for the target platform. */
const ENABLED = 'gardener';

const cache = new Map<string, Obj[]>();
function variant(name: string): Obj[] {
  let objs = cache.get(name);
  if (!objs) {
    objs = renderComposition(['base'], [`components/network-policy/${name}`]);
    cache.set(name, objs);
  }
  return objs;
}
function overlay(name: string): Obj[] {
  let objs = cache.get(`overlay:${name}`);
  if (!objs) {
    objs = renderOverlay(name);
    cache.set(`overlay:${name}`, objs);
  }
  return objs;
}
const policies = (objs: Obj[]) => objs.filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicyView[];
const deploymentIn = (objs: Obj[]) => objs.find((o) => o.kind === 'Deployment') as DeploymentView;

// ---- a small NetworkPolicy evaluator (networking.k8s.io/v1 semantics) ----------------------------------------------

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(labels[e.key]!)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(labels[e.key]!)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

interface Source {
  /** A pod: its namespace's labels and its own labels (a peer with a podSelector only matches pods in the policy's namespace). */
  pod?: { namespace: string; namespaceLabels: Record<string, string>; labels: Record<string, string> };
}

/** Whether `source` may open a TCP connection to `port` of a pod with `podLabels` in `namespace`, under `nps`. */
function ingressAllowed(nps: NetworkPolicyView[], namespace: string, podLabels: Record<string, string>, source: Source, port: number): boolean {
  const applicable = nps.filter(
    (np) => np.metadata.namespace === namespace && selects(np.spec.podSelector, podLabels) && (np.spec.policyTypes ?? ['Ingress']).includes('Ingress'),
  );
  if (applicable.length === 0) return true; // not isolated
  return applicable.some((np) =>
    (np.spec.ingress ?? []).some((rule) => {
      const portOk = rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((p) => (p.protocol ?? 'TCP') === 'TCP' && p.port === port);
      const fromOk =
        rule.from === undefined || rule.from.length === 0 ||
        rule.from.some((peer) => {
          const pod = source.pod;
          if (peer.ipBlock) return false; // the pods below are not in any ipBlock (pod IPs are not listed)
          if (!pod) return false;
          if (peer.namespaceSelector === undefined) return pod.namespace === namespace && selects(peer.podSelector ?? {}, pod.labels);
          return selects(peer.namespaceSelector, pod.namespaceLabels) && selects(peer.podSelector ?? {}, pod.labels);
        });
      return portOk && fromOk;
    }),
  );
}

const ns = (name: string, extra: Record<string, string> = {}) => ({ 'kubernetes.io/metadata.name': name, ...extra });
const SOURCES = {
  vpnShoot: { pod: { namespace: 'kube-system', namespaceLabels: ns('kube-system', { 'gardener.cloud/purpose': 'kube-system' }), labels: { app: 'vpn-shoot', 'gardener.cloud/role': 'system-component', origin: 'gardener', type: 'tunnel' } } },
  prometheus: { pod: { namespace: 'monitoring', namespaceLabels: ns('monitoring'), labels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/managed-by': 'prometheus-operator', 'app.kubernetes.io/instance': 'k8s', prometheus: 'k8s' } } },
  workload: { pod: { namespace: 'default', namespaceLabels: ns('default'), labels: { app: 'shop' } } },
  fakeVpnShoot: { pod: { namespace: 'tenant', namespaceLabels: ns('tenant'), labels: { app: 'vpn-shoot' } } },
  fakeKubeSystemLabel: { pod: { namespace: 'tenant', namespaceLabels: ns('tenant', { 'gardener.cloud/purpose': 'kube-system' }), labels: { app: 'vpn-shoot' } } },
  sameNamespace: { pod: { namespace: 'mesh-webhook', namespaceLabels: ns('mesh-webhook'), labels: { app: 'debug' } } },
  konnectivity: { pod: { namespace: 'kube-system', namespaceLabels: ns('kube-system'), labels: { 'k8s-app': 'konnectivity-agent' } } },
} satisfies Record<string, Source>;

// ---- every variant --------------------------------------------------------------------------------------------------

describe.each(Object.keys(VARIANTS))('components/network-policy/%s', (name) => {
  const expected = VARIANTS[name]!;

  it('renders one NetworkPolicy in mesh-webhook, valid against the networking.k8s.io/v1 schema', () => {
    const nps = policies(variant(name));
    expect(nps.map((np) => `${np.metadata.namespace}/${np.metadata.name}`)).toEqual([`mesh-webhook/${expected.name}`]);
    expect(() => new NetworkPolicy(nps[0] as never).validate()).not.toThrow();
    expect(nps[0]!.metadata.labels).toEqual(APP);
  });

  it('admits the webhook port only from the documented peers and the metrics port only from Prometheus, ingress only', () => {
    const np = policies(variant(name))[0]!;
    expect(np.spec).toEqual({
      podSelector: { matchLabels: APP },
      policyTypes: ['Ingress'],
      ingress: [{ from: expected.webhookPeers, ports: WEBHOOK_PORT }, METRICS_RULE],
    });
  });

  it('selects exactly the webhook pods, on the ports the container listens on', () => {
    const objs = variant(name);
    const np = policies(objs)[0]!;
    const d = deploymentIn(objs);
    expect(selects(np.spec.podSelector, d.spec.template.metadata.labels)).toBe(true);
    // Not the Prometheus or vpn-shoot pods, not pods without the label.
    expect(selects(np.spec.podSelector, { app: 'vpn-shoot' })).toBe(false);
    const container = d.spec.template.spec.containers[0]!;
    expect(container.ports?.find((p) => p.name === 'https')?.containerPort).toBe(8443);
    // The metrics listener: the CLI's default --metrics-port (9090, absent from the args) on all interfaces.
    const invocation = parseCommandLine(container.args ?? []);
    expect(invocation).toMatchObject({ command: 'serve', args: { metricsHost: '0.0.0.0' } });
    expect((invocation as { args: { metricsPort?: number } }).args.metricsPort).toBeUndefined();
  });

  it(name === ENABLED ? 'has no placeholder: it applies as shipped' : 'cannot be applied unedited: its placeholder is not a CIDR, so the API server rejects it', () => {
    const cidrs = policies(variant(name)).flatMap((np) => (np.spec.ingress ?? []).flatMap((r) => (r.from ?? []).flatMap((p) => (p.ipBlock ? [p.ipBlock.cidr] : []))));
    const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-f:]+\/\d{1,3}$/i;
    if (name === ENABLED) {
      expect(cidrs).toEqual([]);
    } else {
      expect(cidrs.length).toBeGreaterThan(0);
      for (const cidr of cidrs) {
        expect(cidr).toMatch(/^REPLACE-WITH-[A-Z-]+$/);
        expect(cidr).not.toMatch(CIDR);
      }
    }
  });

  it('never admits an ordinary workload, a pod of its own namespace or a copied label', () => {
    const nps = policies(variant(name));
    const pod = deploymentIn(variant(name)).spec.template.metadata.labels;
    for (const source of [SOURCES.workload, SOURCES.sameNamespace, SOURCES.fakeVpnShoot, SOURCES.fakeKubeSystemLabel]) {
      for (const port of [8443, 9090, 15000]) expect(ingressAllowed(nps, 'mesh-webhook', pod, source, port), `${JSON.stringify(source)} → ${port}`).toBe(false);
    }
    // Prometheus reads the metrics, nothing else.
    expect(ingressAllowed(nps, 'mesh-webhook', pod, SOURCES.prometheus, 9090)).toBe(true);
    expect(ingressAllowed(nps, 'mesh-webhook', pod, SOURCES.prometheus, 8443)).toBe(false);
  });
});

describe('Gardener (enabled): the API server arrives through vpn-shoot', () => {
  it('admits vpn-shoot in kube-system on 8443 and nowhere else', () => {
    const nps = policies(variant('gardener'));
    const pod = deploymentIn(variant('gardener')).spec.template.metadata.labels;
    expect(ingressAllowed(nps, 'mesh-webhook', pod, SOURCES.vpnShoot, 8443)).toBe(true);
    expect(ingressAllowed(nps, 'mesh-webhook', pod, SOURCES.vpnShoot, 9090)).toBe(false);
    // Matched by the namespace's name, which nobody can set on another namespace, not by gardener.cloud/purpose.
    expect(ingressAllowed(nps, 'mesh-webhook', pod, SOURCES.fakeKubeSystemLabel, 8443)).toBe(false);
  });

  it('GKE variant: admits the Konnectivity agents on 8443', () => {
    const nps = policies(variant('gke'));
    const pod = deploymentIn(variant('gke')).spec.template.metadata.labels;
    expect(ingressAllowed(nps, 'mesh-webhook', pod, SOURCES.konnectivity, 8443)).toBe(true);
    expect(ingressAllowed(nps, 'mesh-webhook', pod, SOURCES.vpnShoot, 8443)).toBe(false);
  });
});

// ---- what the overlays ship ---------------------------------------------------------------------------------------

describe.each(['kyma', 'staging', 'cert-manager'])('overlay %s', (name) => {
  it(`ships only the ${ENABLED} NetworkPolicy, identical to the component's`, () => {
    const nps = policies(overlay(name));
    expect(nps.map((np) => np.metadata.name)).toEqual([VARIANTS[ENABLED]!.name]);
    expect(nps[0]).toEqual(policies(variant(ENABLED))[0]);
    expect(JSON.stringify(overlay(name))).not.toContain('REPLACE-WITH-');
  });

  it('the policy selects the overlay\'s own Deployment pods', () => {
    const nps = policies(overlay(name));
    expect(selects(nps[0]!.spec.podSelector, deploymentIn(overlay(name)).spec.template.metadata.labels)).toBe(true);
  });
});

describe('composition', () => {
  it('variants have distinct names, so an operator can combine two (their rules add up)', () => {
    const objs = renderComposition(['base'], ['components/network-policy/gardener', 'components/network-policy/gke']);
    expect(policies(objs).map((np) => np.metadata.name).sort()).toEqual(['mesh-webhook-gardener', 'mesh-webhook-gke']);
    const pod = deploymentIn(objs).spec.template.metadata.labels;
    expect(ingressAllowed(policies(objs), 'mesh-webhook', pod, SOURCES.vpnShoot, 8443)).toBe(true);
    expect(ingressAllowed(policies(objs), 'mesh-webhook', pod, SOURCES.konnectivity, 8443)).toBe(true);
    expect(ingressAllowed(policies(objs), 'mesh-webhook', pod, SOURCES.workload, 8443)).toBe(false);
  });

  it('the monitoring component scrapes the port the policies open for Prometheus', () => {
    const objs = renderComposition(['base'], ['components/monitoring', 'components/network-policy/gardener']);
    const ports = deploymentIn(objs).spec.template.spec.containers[0]!.ports ?? [];
    expect(ports.find((p) => p.name === 'metrics')?.containerPort).toBe(9090);
    const podMonitor = objs.find((o) => o.kind === 'PodMonitor') as Obj & { spec: { podMetricsEndpoints: { port: string }[] } };
    expect(podMonitor.spec.podMetricsEndpoints.map((e) => e.port)).toEqual(['metrics']);
  });
});
