/**
 * The IST codes as istioctl analyze reports them (pkg/config/analysis/analyzers at 86c9f01fd735), and every finding
 * of an object at once. Each case goes through POST /validate (enforce mode; the audit annotation lists every
 * finding) and through the built CLI (`validate -f FILE -o json`); both must give the same literal findings.
 * Inputs are shaped like the analyzers' testdata (service-no-port-name-system-namespace.yaml, namespace labels, ...).
 */
import { describe, expect, it } from 'vitest';
import { deployment, namespace, pod, service } from './examples.js';
import { parseJsonFindings, postValidate, useCliWorkspace, validationReview, type Obj, useEnforcingServer } from './helpers.js';

function inNamespace(o: Obj, ns: string): Obj {
  return { ...o, metadata: { ...o.metadata, namespace: ns } };
}
function withLabels(o: Obj, labels: Record<string, string>): Obj {
  return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...labels } } };
}
const uid1337 = { containers: [{ name: 'app', image: 'example.com/app:1', securityContext: { runAsUser: 1337 } }] };
const externalName = (name: string, ports: Obj[]): Obj => ({ ...service(name, ports), spec: { type: 'ExternalName', externalName: 'db.example.com', ports } });

interface Case {
  what: string;
  object: Obj;
  /** Every finding, `CODE(severity) path`, in order. */
  findings: string[];
}

const CASES: Case[] = [
  {
    what: 'an invalid annotation does not hide the UID, reserved-port and UDP findings',
    object: deployment(
      'everything',
      {
        containers: [
          {
            name: 'app',
            image: 'example.com/app:1',
            securityContext: { runAsUser: 1337 },
            ports: [{ name: 'http', containerPort: 15001 }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }],
          },
        ],
      },
      { annotations: { 'sidecar.istio.io/interceptionMode': 'REDIRECTED' } },
    ),
    findings: [
      'IST0125(error) spec.template.metadata.annotations["sidecar.istio.io/interceptionMode"]',
      'IST0144(warning) spec.template.spec.containers[0].securityContext.runAsUser',
      'MW0101(error) spec.template.spec.containers[0].ports[0]',
      'MW0102(warning) spec.template.spec.containers[0].ports[1]',
    ],
  },
  {
    what: 'MW0401 points at the malformed field',
    object: deployment('bad-env', { containers: [{ name: 'app', image: 'example.com/app:1', env: 'PORT=8080' }] }),
    findings: ['MW0401(error) spec.template.spec.containers[0].env'],
  },
  {
    what: 'an unknown template: MW0401 at the annotation, the UID finding too',
    object: pod('template-uid', uid1337, { annotations: { 'inject.istio.io/templates': 'gateway' } }),
    findings: ['MW0401(error) metadata.annotations["inject.istio.io/templates"]', 'IST0144(warning) spec.containers[0].securityContext.runAsUser'],
  },
  // System namespaces: istioctl never reads them.
  { what: 'a Service in kube-system', object: inNamespace(service('dns', [{ port: 8080 }, { name: 'bar', port: 8081 }]), 'kube-system'), findings: [] },
  { what: 'a Service in kube-public', object: inNamespace(service('info', [{ name: 'bar', port: 8080 }]), 'kube-public'), findings: [] },
  { what: 'a Pod at UID 1337 in local-path-storage', object: inNamespace(pod('provisioner', uid1337), 'local-path-storage'), findings: [] },
  {
    what: 'the Namespace kube-node-lease with two injection labels and an unknown annotation',
    object: { ...namespace('kube-node-lease', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }), metadata: { name: 'kube-node-lease', labels: { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }, annotations: { 'sidecar.istio.io/injekt': 'x' } } },
    findings: [],
  },
  // Istio's own objects.
  { what: 'a Service labelled istio: xxx', object: withLabels(inNamespace(service('ingress', [{ name: 'foo', port: 8080 }]), 'istio-system'), { istio: 'xxx' }), findings: [] },
  { what: 'a Service labelled release: istio', object: withLabels(service('istiod', [{ name: 'foo', port: 8080 }]), { release: 'istio' }), findings: [] },
  {
    what: 'a Service of an Istio-managed gateway',
    object: withLabels(service('gw', [{ name: 'foo', port: 8080 }]), { 'gateway.istio.io/managed': 'istio.io-gateway-controller' }),
    findings: [],
  },
  {
    what: 'a Service managed by another controller is checked',
    object: withLabels(service('other-gw', [{ name: 'foo', port: 8080 }]), { 'gateway.istio.io/managed': 'example.com-controller' }),
    findings: ['IST0118(info) spec.ports[0]'],
  },
  {
    what: 'an Istio-owned Service still gets the annotation analyzer',
    object: { ...withLabels(service('istiod2', [{ name: 'foo', port: 8080 }]), { istio: 'pilot' }), metadata: { name: 'istiod2', namespace: 'shop', labels: { istio: 'pilot' }, annotations: { 'networking.istio.io/exportToo': '.' } } },
    findings: ['IST0108(warning) metadata.annotations["networking.istio.io/exportToo"]'],
  },
  { what: 'a Deployment labelled istio: pilot at UID 1337', object: deployment('pilot', uid1337, {}, { labels: { istio: 'pilot' } }), findings: [] },
  { what: 'a Pod labelled release: istio at UID 1337', object: withLabels(pod('operator', uid1337), { release: 'istio' }), findings: [] },
  {
    what: 'pod-level 1337 and a container named istio-operator',
    object: pod('pod-level', { securityContext: { runAsUser: 1337 }, containers: [{ name: 'istio-operator', image: 'example.com/op:1', securityContext: { runAsUser: 1337 } }] }),
    findings: ['IST0144(warning) spec.securityContext.runAsUser'],
  },
  {
    what: 'a pod not injected (sidecar.istio.io/inject: "false") at UID 1337: istioctl reports it all the same',
    object: withLabels(pod('opted-out', uid1337), { 'sidecar.istio.io/inject': 'false' }),
    findings: ['IST0144(warning) spec.containers[0].securityContext.runAsUser'],
  },
  // IST0123: the labels istioctl counts.
  { what: 'istio-injection=disabled with istio.io/rev', object: namespace('ns-disabled-rev', { 'istio-injection': 'disabled', 'istio.io/rev': 'canary' }), findings: [] },
  { what: 'istio-injection=enabled with istio.io/rev', object: namespace('ns-enabled-rev', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }), findings: ['IST0123(warning) metadata.labels'] },
  { what: 'istio.io/rev with istio.io/dataplane-mode', object: namespace('ns-rev-ambient', { 'istio.io/rev': 'canary', 'istio.io/dataplane-mode': 'ambient' }), findings: ['IST0123(warning) metadata.labels'] },
  { what: 'istio-injection=enabled with istio.io/dataplane-mode', object: namespace('ns-enabled-ambient', { 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' }), findings: ['IST0123(warning) metadata.labels'] },
  { what: 'istio.io/dataplane-mode alone', object: namespace('ns-ambient', { 'istio.io/dataplane-mode': 'ambient' }), findings: [] },
  { what: 'istio-system with two injection labels', object: namespace('istio-system', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }), findings: [] },
  // IST0118: the protocols Istio reads from a port.
  {
    what: 'port names and appProtocols',
    object: service('protocols', [
      { name: 'h2c-web', port: 81 },
      { name: 'ws', port: 82 },
      { name: 'http_proxy', port: 83 },
      { name: 'GRPC-Web-ui', port: 84 },
      { name: 'web', appProtocol: 'kubernetes.io/h2c', port: 85 },
      { name: 'http', appProtocol: 'foo', port: 86 },
      { name: 'web', appProtocol: 'HTTP', port: 87 },
      { name: 'dns', protocol: 'UDP', port: 88 },
      { port: 53 },
      { name: 'db', port: 3306 },
      { port: 8080 },
    ]),
    findings: ['IST0118(info) spec.ports[0]', 'IST0118(info) spec.ports[1]', 'IST0118(info) spec.ports[5]', 'IST0118(info) spec.ports[10]'],
  },
  {
    what: 'an ExternalName Service: IST0150, not IST0118',
    object: externalName('external', [{ name: 'tcp', port: 5432 }, { name: 'http-api', port: 80 }, { name: 'db', port: 5433 }]),
    findings: ['IST0150(warning) spec.ports[0]', 'IST0150(warning) spec.ports[2]'],
  },
];

const id = (o: Obj) => (o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`);

describe('through POST /validate (enforce mode)', () => {
  const server = useEnforcingServer();

  it.each(CASES.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
    const answer = await postValidate(server, validationReview(c.object));
    expect(answer.audit).toBe(c.findings.length === 0 ? 'enforce: ok' : `enforce: ${c.findings.join('; ')}`);
    expect(answer.allowed).toBe(!c.findings.some((f) => f.includes('(error)')));
  });

  it('a refused object names every finding in the denial', async () => {
    const answer = await postValidate(server, validationReview(CASES[0]!.object));
    expect(answer.code).toBe(403);
    expect(answer.message).toMatch(/^mesh-webhook denied: 2 error\(s\): IST0125 .* IST0144 .* MW0101 .* MW0102 /);
  });
});

describe('through the CLI (validate -f FILE -o json)', () => {
  const workspace = useCliWorkspace();

  it('gives the same findings for every case, in one file', () => {
    const ws = workspace();
    const run = ws.run(['validate', '-f', ws.file(CASES.map((c) => c.object)), '-o', 'json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    const got = parseJsonFindings(run.stdout).map((f) => `${f.object}: ${f.code}(${f.severity}) ${f.path}`);
    expect(got).toEqual(CASES.flatMap((c) => c.findings.map((f) => `${id(c.object)}: ${f}`)));
  });
});
