/**
 * `mesh-webhook validate` end to end: the built CLI on real files (and stdin), text and JSON output, exit codes,
 * `--list`, bad input naming the document, usage errors, the configuration flags, and 1,000 workloads in one file.
 */
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/validate/index.js';
import { deployment, job, namespace, NS, peerAuthentication, pod, service } from './examples.js';
import { useCliWorkspace, parseJsonFindings, yamlStream, type Obj } from './helpers.js';

const workspace = useCliWorkspace();

const reserved = (name: string) =>
  deployment(name, { containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 15021 }] }] });
const udp = (name: string) =>
  deployment(name, { containers: [{ name: 'dns', image: 'example.com/dns:1', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] }] });

describe('output', () => {
  it('text: one line per finding (<severity> <code> <object> <path>: <message>) and a summary; exit 1 with an error', () => {
    const file = workspace().file([reserved('api'), udp('dns'), service('web', [{ name: 'web', port: 80 }]), pod('clean')]);
    const run = workspace().run(['validate', '-f', file]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      'error MW0101 Deployment shop/api spec.template.spec.containers[0].ports[0]: port 15021 is reserved by the proxy (health); move the application to another port',
      'warning MW0102 Deployment shop/dns spec.template.spec.containers[0].ports[0]: UDP port 53: the proxy carries TCP only, so this traffic bypasses the mesh (no mTLS)',
      "info IST0118 Service shop/web spec.ports[0]: port 'web': it does not declare a protocol, so Istio sniffs the protocol; name it http-..., grpc-..., tcp-... or set a known appProtocol",
      '1 error(s), 1 warning(s), 1 info (4 objects checked)',
      '',
    ]);
  });

  it('json: an array of {code, severity, object, path, message}', () => {
    const run = workspace().run(['validate', '-f', workspace().file([reserved('api'), udp('dns')]), '-o', 'json']);
    expect(run.status).toBe(1);
    expect(parseJsonFindings(run.stdout)).toEqual([
      { code: 'MW0101', severity: 'error', object: 'Deployment shop/api', path: 'spec.template.spec.containers[0].ports[0]', message: expect.stringContaining('15021') },
      { code: 'MW0102', severity: 'warning', object: 'Deployment shop/dns', path: 'spec.template.spec.containers[0].ports[0]', message: expect.stringContaining('UDP') },
    ]);
  });

  it('proxy resource annotations with a request above the limit: MW0402 with the paths of both annotations', () => {
    const sized = deployment('sized', {}, { annotations: { 'sidecar.istio.io/proxyMemory': '256Mi', 'sidecar.istio.io/proxyMemoryLimit': '128Mi' } });
    const run = workspace().run(['validate', '-f', workspace().file([sized])]);
    expect(run.status).toBe(1);
    expect(run.stdout.split('\n')[0]).toBe(
      'error MW0402 Deployment shop/sized spec.template.metadata.annotations["sidecar.istio.io/proxyMemory"]: ' +
        'spec.template.metadata.annotations["sidecar.istio.io/proxyMemory"] \'256Mi\' is above ' +
        'spec.template.metadata.annotations["sidecar.istio.io/proxyMemoryLimit"] \'128Mi\': the API server refuses a container ' +
        'whose memory request is above its limit; lower the request or raise the limit',
    );
    expect(run.stdout).not.toContain('MW0401');
  });

  it('a declared istio-proxy whose request is above the configured limit: MW0401 at the pod spec, with the injector\'s reason', () => {
    const declared = deployment('declared', {
      containers: [
        { name: 'app', image: 'example.com/app:1' },
        { name: 'istio-proxy', image: 'auto', resources: { requests: { memory: '1Gi' } } },
      ],
    });
    const run = workspace().run(['validate', '-f', workspace().file([declared]), '-o', 'json']);
    expect(run.status).toBe(1);
    expect(parseJsonFindings(run.stdout)).toEqual([
      { code: 'MW0401', severity: 'error', object: 'Deployment shop/declared', path: 'spec.template.spec', message: expect.stringContaining("container istio-proxy would request memory '1Gi' above its limit '128Mi'") },
    ]);
  });

  it('warnings and info only: exit 0', () => {
    const run = workspace().run(['validate', '-f', workspace().file([udp('dns'), service('web', [{ port: 80 }])]), '--output', 'json']);
    expect(run.status).toBe(0);
    expect(parseJsonFindings(run.stdout).map((f) => f.code)).toEqual(['MW0102', 'IST0118']);
  });

  it('nothing found: the summary only, exit 0; an empty stream checks nothing', () => {
    const run = workspace().run(['validate', '-f', workspace().file([pod('a'), service('a', [{ name: 'http', port: 80 }])])]);
    expect(run).toEqual({ status: 0, stdout: '0 error(s), 0 warning(s), 0 info (2 objects checked)\n', stderr: '' });
    expect(workspace().run(['validate', '-f', workspace().file('---\n---\n'), '-o', 'json'])).toEqual({ status: 0, stdout: '[]\n', stderr: '' });
  });

  it('reads stdin with -f -, and the items of v1 Lists', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [reserved('in-list'), { apiVersion: 'v1', kind: 'List', items: [udp('nested')] }] };
    const run = workspace().run(['validate', '-f', '-', '-o', 'json'], yamlStream([list, pod('p')]));
    expect(run.status).toBe(1);
    expect(parseJsonFindings(run.stdout).map((f) => `${f.code} ${f.object}`)).toEqual(['MW0101 Deployment shop/in-list', 'MW0102 Deployment shop/nested']);
  });

  it('every workload kind is checked', () => {
    const template = reserved('x').spec.template;
    const kinds: Obj[] = [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'sts', namespace: NS }, spec: { serviceName: 'sts', selector: {}, template } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds', namespace: NS }, spec: { selector: {}, template } },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: NS }, spec: { selector: {}, template } },
      { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc', namespace: NS }, spec: { template } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job', namespace: NS }, spec: { template } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj', namespace: NS }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } } },
    ];
    const run = workspace().run(['validate', '-f', workspace().file(kinds), '-o', 'json']);
    const findings = parseJsonFindings(run.stdout);
    expect(findings.map((f) => `${f.code} ${f.object} ${f.path}`)).toEqual([
      'MW0101 StatefulSet shop/sts spec.template.spec.containers[0].ports[0]',
      'MW0101 DaemonSet shop/ds spec.template.spec.containers[0].ports[0]',
      'MW0101 ReplicaSet shop/rs spec.template.spec.containers[0].ports[0]',
      'MW0101 ReplicationController shop/rc spec.template.spec.containers[0].ports[0]',
      'MW0101 Job shop/job spec.template.spec.containers[0].ports[0]',
      'MW0101 CronJob shop/cj spec.jobTemplate.spec.template.spec.containers[0].ports[0]',
    ]);
  });

  it('--list prints every rule with code, severity, title and fix (text and JSON)', () => {
    const text = workspace().run(['validate', '--list']);
    expect(text.status).toBe(0);
    for (const rule of RULES) {
      expect(text.stdout).toMatch(new RegExp(`^${rule.code} +${rule.severity} +${rule.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      expect(text.stdout).toContain(`fix: ${rule.fix}`);
    }
    const json = workspace().run(['validate', '--list', '-o', 'json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(RULES);
  });
});

describe('bad input and usage', () => {
  it('bad YAML: a message naming the document, exit 1, no stack', () => {
    const run = workspace().run(['validate', '-f', workspace().file(`${yamlStream([pod('ok')])}---\nmetadata: [oops\n`)]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: document 2: invalid YAML: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a document that is not an object, or a List item without a kind: named, exit 1', () => {
    const scalar = workspace().run(['validate', '-f', workspace().file('just a string\n')]);
    expect(scalar.status).toBe(1);
    expect(scalar.stderr).toBe('error: document 1: expected a Kubernetes object (a map with apiVersion and kind); got "just a string"\n');
    const item = workspace().run(['validate', '-f', workspace().file(yamlStream([pod('a'), { apiVersion: 'v1', kind: 'List', items: [{ metadata: { name: 'x' } }] }]))]);
    expect(item.status).toBe(1);
    expect(item.stderr).toBe('error: document 2, items[0]: not a Kubernetes object: apiVersion and kind must be non-empty strings\n');
  });

  it('a missing file or an invalid configuration: exit 1', () => {
    const missing = workspace().run(['validate', '-f', 'nope.yaml']);
    expect(missing).toMatchObject({ status: 1, stderr: 'error: manifest file nope.yaml does not exist\n' });
    const badConfig = workspace().run(['validate', '-f', workspace().file([pod('a')]), '--set', 'validation.mode=strict']);
    expect(badConfig.status).toBe(1);
    expect(badConfig.stderr).toMatch(/^error: .*validation\.mode/);
  });

  it.each([
    [['validate'], /missing -f FILE/],
    [['validate', '-f', 'x.yaml', '-o', 'yaml'], /-o\/--output must be one of text, json; got "yaml"/],
    [['validate', '--list', '-f', 'x.yaml'], /--list prints the rules; it takes no -f/],
    [['validate', '-f', 'x.yaml', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['validate', '-f', 'x.yaml', '--profile', 'openshift'], /--profile must be one of/],
  ])('usage error %j: exit 2 with the validate usage', (args, message) => {
    const run = workspace().run(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('Usage: mesh-webhook validate -f FILE|- [flags]');
  });

  it('--help prints the usage, exit 0; the main usage lists validate', () => {
    const help = workspace().run(['validate', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('mesh-webhook validate --list');
    expect(workspace().run(['--help']).stdout).toMatch(/^ {2}validate {2}/m);
  });
});

describe('configuration flags', () => {
  it('--profile istio does not require a STRICT mesh-wide PeerAuthentication (kyma does)', () => {
    const file = workspace().file([peerAuthentication('default', 'istio-system', { mtls: { mode: 'PERMISSIVE' } })]);
    expect(parseJsonFindings(workspace().run(['validate', '-f', file, '-o', 'json']).stdout).map((f) => f.code)).toEqual(['MW0502']);
    const istio = workspace().run(['validate', '-f', file, '-o', 'json', '--profile', 'istio']);
    expect(istio.status).toBe(0);
    expect(parseJsonFindings(istio.stdout)).toEqual([]);
  });

  it('--native-sidecars false: a Job gets a classic sidecar (MW0201); --set values.pilot.cni.enabled=true: no MW0301', () => {
    const jobs = workspace().file([job('migrate')]);
    expect(parseJsonFindings(workspace().run(['validate', '-f', jobs, '-o', 'json']).stdout)).toEqual([]);
    expect(parseJsonFindings(workspace().run(['validate', '-f', jobs, '-o', 'json', '--native-sidecars', 'false']).stdout).map((f) => f.code)).toEqual(['MW0201']);

    const ns = workspace().file([namespace('apps', { 'pod-security.kubernetes.io/enforce': 'baseline' })]);
    expect(workspace().run(['validate', '-f', ns, '-o', 'json']).status).toBe(1);
    expect(workspace().run(['validate', '-f', ns, '-o', 'json', '--set', 'values.pilot.cni.enabled=true']).status).toBe(0);
  });

  it('--config FILE: namespaceLabels apply to the objects of that namespace', () => {
    const config = workspace().file('namespaceLabels:\n  shop:\n    pod-security.kubernetes.io/enforce: restricted\n', 'config.yaml');
    const run = workspace().run(['validate', '-f', workspace().file([pod('a')]), '--config', config, '-o', 'json']);
    expect(run.status).toBe(1);
    expect(parseJsonFindings(run.stdout).map((f) => `${f.code} ${f.object}`)).toEqual(['MW0301 Pod shop/a']);
  });

  it('a Namespace in the input supplies the labels of its namespace', () => {
    const labelled = namespace(NS, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    const run = workspace().run(['validate', '-f', workspace().file([labelled, pod('a')]), '-o', 'json']);
    expect(parseJsonFindings(run.stdout).map((f) => `${f.code} ${f.object}`)).toEqual(['MW0301 Namespace shop', 'MW0301 Pod shop/a']);
    const optedOut = namespace(NS, { 'pod-security.kubernetes.io/enforce': 'baseline', 'istio-injection': 'disabled' });
    expect(parseJsonFindings(workspace().run(['validate', '-f', workspace().file([optedOut, pod('a')]), '-o', 'json']).stdout)).toEqual([]);
  });

  it('a Namespace after the objects in it still supplies their labels, from a file or from stdin (read twice: spooled)', () => {
    const labelled = namespace(NS, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    const expected = ['MW0301 Pod shop/a', 'MW0301 Namespace shop'];
    const fromFile = workspace().run(['validate', '-f', workspace().file([pod('a'), labelled]), '-o', 'json']);
    expect(parseJsonFindings(fromFile.stdout).map((f) => `${f.code} ${f.object}`)).toEqual(expected);
    const fromStdin = workspace().run(['validate', '-f', '-', '-o', 'json'], yamlStream([pod('a'), labelled]));
    expect(parseJsonFindings(fromStdin.stdout).map((f) => `${f.code} ${f.object}`)).toEqual(expected);
  });

  it('a Namespace whose kind is spelled with an escape is still seen', () => {
    const text = `${yamlStream([pod('a')])}---\napiVersion: v1\nkind: "Namesp\\x61ce"\nmetadata:\n  name: ${NS}\n  labels: {pod-security.kubernetes.io/enforce: baseline}\n`;
    const run = workspace().run(['validate', '-f', workspace().file(text), '-o', 'json']);
    expect(parseJsonFindings(run.stdout).map((f) => `${f.code} ${f.object}`)).toEqual(['MW0301 Pod shop/a', 'MW0301 Namespace shop']);
  });

  it('suppression annotations work offline too', () => {
    const d = reserved('api');
    d.metadata.annotations = { 'mesh-webhook.kyma-project.io/suppress': 'MW0101' };
    const p = pod('p', { containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ containerPort: 15090 }] }] }, { annotations: { 'galley.istio.io/analyze-suppress': 'MW0101' } });
    const run = workspace().run(['validate', '-f', workspace().file([d, p]), '-o', 'json']);
    expect(run.status).toBe(0);
    expect(parseJsonFindings(run.stdout)).toEqual([]);
  });
});

describe('1,000 workloads', () => {
  it('validates 1,000 Deployments in one file and reports every finding', async () => {
    const objects: Obj[] = [];
    for (let i = 0; i < 1000; i++) {
      const d = deployment(`svc-${String(i).padStart(4, '0')}`, {
        containers: [
          {
            name: 'app',
            image: `example.com/svc-${i}:1`,
            ports: [
              { name: 'http', containerPort: i % 10 === 0 ? 15000 : 8080 },
              { name: 'udp-stats', containerPort: 8125, protocol: 'UDP' },
            ],
            readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
            resources: { requests: { cpu: '50m', memory: '64Mi' } },
          },
        ],
      });
      d.metadata.namespace = `team-${i % 20}`;
      objects.push(d);
    }
    const file = workspace().file(objects, 'thousand.yaml');
    const json = await workspace().runAsync(['validate', '-f', file, '-o', 'json']);
    expect(json.stderr).toBe('');
    expect(json.status).toBe(1);
    const findings = parseJsonFindings(json.stdout);
    expect(findings.filter((f) => f.code === 'MW0101')).toHaveLength(100);
    expect(findings.filter((f) => f.code === 'MW0102')).toHaveLength(1000);
    expect(findings).toHaveLength(1100);
    expect(new Set(findings.map((f) => f.object)).size).toBe(1000);

    const text = await workspace().runAsync(['validate', '-f', file]);
    expect(text.status).toBe(1);
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('100 error(s), 1000 warning(s), 0 info (1000 objects checked)');
  }, 120_000);
});
