/**
 * End-to-end tests of the built CLI (dist/cli/main.js run by the pinned Node 24), with real files on disk.
 * `npm test` builds first (pretest); when run directly, beforeAll rebuilds if dist is older than src or tsconfig.json.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cliMain, ensureBuilt, root } from '../helpers/build.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-cli-'));

beforeAll(ensureBuilt, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string): CliRun {
  return runCli(args, { cwd: dir, input });
}

let fileCount = 0;
function file(text: string): string {
  const path = join(dir, `m${++fileCount}.yaml`);
  writeFileSync(path, text);
  return path;
}

type Obj = Record<string, any>;
function docs(yamlText: string): Obj[] {
  return parseAllDocuments(yamlText)
    .map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Obj | null;
    })
    .filter((d): d is Obj => d !== null);
}

function findContainer(spec: Obj, name: string): { in: 'initContainers' | 'containers'; container: Obj } | undefined {
  for (const list of ['initContainers', 'containers'] as const) {
    const container = (spec[list] as Obj[] | undefined)?.find((c) => c.name === name);
    if (container) return { in: list, container };
  }
  return undefined;
}

/** Compare quantities numerically-ish: the injector may print canonical forms. */
function quantity(q: unknown): number {
  const m = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity: ${String(q)}`);
  const scale: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(m[1]) * (m[2] ? (scale[m[2]] as number) : 1);
}
function quantities(r: Obj | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, quantity(v)]));
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app: hello
  template:
    metadata:
      labels:
        app: hello
    spec:
      containers:
      - name: hello
        image: "fake.docker.io/google-samples/hello-go-gke:1.0"
        ports:
        - name: http
          containerPort: 80
`;

const SERVICE = `# a Service is echoed byte for byte
apiVersion: v1
kind: Service
metadata:
  name: hello   # keep this comment
spec:
  selector: {app: hello}
  ports:
    - port: 80
`;

const CRONJOB = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: hellocron
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox
          restartPolicy: OnFailure
`;

const deploymentFile = () => file(DEPLOYMENT);

describe('mesh-webhook inject of an injected pod (re-injection, as Istio: the template merged onto the pod as received)', () => {
  const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: "9102"
spec:
  containers:
  - name: web
    image: example.com/web:1
  - name: istio-proxy
    image: auto
    env:
    - name: EXTRA_FLAG
      value: "on"
    resources:
      limits:
        memory: 512Mi
`;
  it('istio profile: the declared env and ISTIO_PROMETHEUS_ANNOTATIONS stay; the template\'s memory limit comes back', () => {
    const first = cli(['inject', '--profile', 'istio', '-f', file(POD)]);
    expect(first.stderr).toBe('');
    const firstProxy = findContainer(docs(first.stdout)[0]!.spec as Obj, 'istio-proxy')!.container;
    expect(firstProxy.resources.limits.memory).toBe('512Mi');
    const second = cli(['inject', '--profile', 'istio', '-f', file(first.stdout)]);
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    const proxy = findContainer(docs(second.stdout)[0]!.spec as Obj, 'istio-proxy')!.container;
    const env = proxy.env as { name: string; value?: string }[];
    expect(env.filter((e) => e.name === 'EXTRA_FLAG')).toEqual([{ name: 'EXTRA_FLAG', value: 'on' }]);
    expect(env.find((e) => e.name === 'ISTIO_PROMETHEUS_ANNOTATIONS')?.value).toBe('{"scrape":"true","path":"","port":"9102"}');
    expect(proxy.resources.limits.memory).toBe('1Gi');
  });

  it('classic then native: the earlier classic proxy is merged onto the native one (its resources stay)', () => {
    const classic = cli(['inject', '--native-sidecars', 'false', '-f', file(POD)]);
    expect(classic.stderr).toBe('');
    const native = cli(['inject', '--native-sidecars', 'true', '-f', file(classic.stdout)]);
    expect(native.stderr).toBe('');
    const spec = docs(native.stdout)[0]!.spec as Obj;
    const proxy = findContainer(spec, 'istio-proxy')!;
    expect(proxy.in).toBe('initContainers');
    expect(proxy.container.restartPolicy).toBe('Always');
    expect(proxy.container.resources.limits.memory).toBe('512Mi');
    expect((spec.containers as Obj[]).map((c) => c.name)).toEqual(['web']);
  });
});

describe('mesh-webhook inject', () => {
  it('injects a Deployment with the kyma defaults: native sidecar and Kyma resources', () => {
    const r = cli(['inject', '-f', deploymentFile()]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.endsWith('---\n')).toBe(true);
    const [deployment] = docs(r.stdout);
    const spec = deployment?.spec.template.spec as Obj;
    const proxy = findContainer(spec, 'istio-proxy');
    expect(proxy?.in).toBe('initContainers');
    expect(proxy?.container.restartPolicy).toBe('Always');
    expect(quantities(proxy?.container.resources.requests)).toEqual(quantities({ cpu: '20m', memory: '32Mi' }));
    expect(quantities(proxy?.container.resources.limits)).toEqual(quantities({ cpu: '200m', memory: '128Mi' }));
    expect(proxy?.container.image).toMatch(/^europe-docker\.pkg\.dev\/kyma-project\/prod\/external\/istio\/proxyv2:/);
    expect(findContainer(spec, 'hello')?.in).toBe('containers');
    expect(deployment?.spec.template.metadata.annotations['sidecar.istio.io/status']).toBeDefined();
    expect(deployment?.spec.replicas).toBe(2);
  });

  it('passes a Service through unchanged', () => {
    const r = cli(['inject', '-f', file(SERVICE)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${SERVICE}---\n`);
  });

  it('injects the items of a List and keeps other items', () => {
    const indent = (text: string) => text.trimEnd().replaceAll('\n', '\n  ');
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${indent(DEPLOYMENT)}\n- ${indent(SERVICE.replace(/^#.*\n/, ''))}\n`;
    const r = cli(['inject', '-f', file(list)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [out] = docs(r.stdout);
    expect(out?.kind).toBe('List');
    expect(findContainer(out?.items[0].spec.template.spec, 'istio-proxy')).toBeDefined();
    expect(out?.items[1].kind).toBe('Service');
  });

  it('injects a CronJob the way istioctl does (metadata on spec.jobTemplate)', () => {
    const r = cli(['inject', '-f', file(CRONJOB)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [cron] = docs(r.stdout);
    const jobTemplate = cron?.spec.jobTemplate as Obj;
    expect(jobTemplate.metadata.annotations['sidecar.istio.io/status']).toBeDefined();
    expect(jobTemplate.spec.template.metadata ?? {}).toEqual({});
    expect(findContainer(jobTemplate.spec.template.spec, 'istio-proxy')).toBeDefined();
  });

  it('handles several documents, each followed by ---', () => {
    const r = cli(['inject', '-f', file(`${SERVICE}---\n${DEPLOYMENT}`)]);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(`${SERVICE}---\n`)).toBe(true);
    expect(docs(r.stdout).map((d) => d.kind)).toEqual(['Service', 'Deployment']);
  });

  it('--profile istio gives Istio chart defaults', () => {
    const r = cli(['inject', '--profile', 'istio', '-f', deploymentFile()]);
    expect(r.status).toBe(0);
    const proxy = findContainer(docs(r.stdout)[0]?.spec.template.spec, 'istio-proxy');
    expect(quantities(proxy?.container.resources.requests)).toEqual(quantities({ cpu: '100m', memory: '128Mi' }));
    expect(proxy?.container.image).toMatch(/^docker\.io\/istio\/proxyv2:/);
  });

  it('--native-sidecars false injects a classic sidecar container', () => {
    const r = cli(['inject', '--native-sidecars', 'false', '-f', deploymentFile()]);
    expect(r.status).toBe(0);
    const proxy = findContainer(docs(r.stdout)[0]?.spec.template.spec, 'istio-proxy');
    expect(proxy?.in).toBe('containers');
    expect(proxy?.container.restartPolicy).toBeUndefined();
  });

  it('--set values.global.proxy.image changes the proxy image', () => {
    const r = cli(['inject', '--set', 'values.global.proxy.image=proxyTest', '-f', deploymentFile()]);
    expect(r.status).toBe(0);
    const proxy = findContainer(docs(r.stdout)[0]?.spec.template.spec, 'istio-proxy');
    expect(proxy?.container.image).toMatch(/\/proxyTest:/);
  });

  it('reads --config, --values and --mesh files', () => {
    const config = file('profile: istio\nvalues:\n  global:\n    hub: registry.example.com/istio\n');
    const values = file('global:\n  tag: "9.9.9"\n');
    const mesh = file('defaultConfig:\n  interceptionMode: TPROXY\n');
    const r = cli(['inject', '--config', config, '--values', values, '--mesh', mesh, '-f', deploymentFile()]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const spec = docs(r.stdout)[0]?.spec.template.spec as Obj;
    expect(findContainer(spec, 'istio-proxy')?.container.image).toBe('registry.example.com/istio/proxyv2:9.9.9');
    expect(JSON.stringify(findContainer(spec, 'istio-init')?.container.args)).toContain('TPROXY');
  });

  it('reads the manifests from stdin with -f -', () => {
    const r = cli(['inject', '-f', '-'], DEPLOYMENT);
    expect(r.status).toBe(0);
    expect(findContainer(docs(r.stdout)[0]?.spec.template.spec, 'istio-proxy')).toBeDefined();
  });

  it('writes to -o FILE', () => {
    const out = join(dir, 'out.yaml');
    const r = cli(['inject', '-f', deploymentFile(), '-o', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(findContainer(docs(readFileSync(out, 'utf8'))[0]?.spec.template.spec, 'istio-proxy')).toBeDefined();
  });

  it('leaves a host-network Deployment alone with a warning on stderr', () => {
    const hostNetwork = `${DEPLOYMENT.replace('namespace: shop', 'namespace: sample').replaceAll('hello', 'hello-host-network')}      hostNetwork: true\n`;
    const r = cli(['inject', '-f', file(hostNetwork)]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('Skipping injection because Deployment "sample/hello-host-network" has host networking enabled');
    expect(r.stdout).toBe(`${hostNetwork}---\n`);
  });

  it('fails on invalid YAML naming the document', () => {
    const r = cli(['inject', '-f', file(`${SERVICE}---\nkind: Deployment\nspec: [\n`)]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/document 2: invalid YAML/);
  });

  it('fails on an invalid annotation naming the annotation', () => {
    const bad = DEPLOYMENT.replace('      labels:\n', '      annotations:\n        traffic.sidecar.istio.io/includeInboundPorts: "abc"\n      labels:\n');
    const r = cli(['inject', '-f', file(bad)]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('document 1 (Deployment "shop/hello")');
    expect(r.stderr.toLowerCase()).toContain('traffic.sidecar.istio.io/includeinboundports');
  });

  it('fails on a template without containers naming the field', () => {
    const r = cli(['inject', '-f', file(DEPLOYMENT.replace(/      containers:[\s\S]*$/, '      containers: []\n'))]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('spec.template.spec.containers must be a non-empty list');
  });

  it('fails on bad configuration naming the path', () => {
    // --set values.global.tag=1.30 is the tag 1.30 now (test/cli/fidelity.test.ts); an unquoted YAML 1.30 is refused.
    const values = file('global:\n  tag: 1.30\n');
    const r = cli(['inject', '--values', values, '-f', deploymentFile()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('values.global.tag');
    expect(r.stderr).toContain('quote it as written: "1.30"');
  });

  it('refuses a configuration whose proxy request is above its limit (every injected pod would be refused)', () => {
    const r = cli(['inject', '--set', 'values.global.proxy.resources.requests.cpu=500m', '-f', deploymentFile()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'error: config values.global.proxy.resources.requests.cpu: "500m" is above values.global.proxy.resources.limits.cpu "200m"; the API server would refuse every injected pod: lower the request or raise the limit\n',
    );
  });

  it('fails on a missing manifest or config file naming it', () => {
    const missing = join(dir, 'missing.yaml');
    expect(cli(['inject', '-f', missing]).stderr).toContain(`manifest file ${missing} does not exist`);
    const r = cli(['inject', '--config', missing, '-f', deploymentFile()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`config file ${missing} does not exist`);
    const cr = cli(['inject', '--profile', 'kyma-module', '--istio-cr', missing, '-f', deploymentFile()]);
    expect(cr).toMatchObject({ status: 1, stdout: '' });
    expect(cr.stderr).toBe(`error: --istio-cr file ${missing} does not exist: pass the path of the Kyma Istio custom resource (YAML) to --istio-cr\n`);
  });

  it('--profile kyma-module with --cluster-size and --istio-cr: the size, then the resource', () => {
    const resource = join(dir, 'istio-cr.yaml');
    writeFileSync(resource, 'apiVersion: operator.kyma-project.io/v1alpha2\nkind: Istio\nspec:\n  components:\n    proxy:\n      k8s:\n        resources:\n          limits: {memory: 300Mi}\n');
    const r = cli(['inject', '--profile', 'kyma-module', '--cluster-size', 'evaluation', '--istio-cr', resource, '-f', deploymentFile()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('name: istio-validation');
    const proxy = r.stdout.slice(r.stdout.indexOf('- name: istio-proxy'));
    expect(proxy.slice(proxy.indexOf('resources:'), proxy.indexOf('securityContext:'))).toBe(
      'resources:\n            limits:\n              cpu: 250m\n              memory: 300Mi\n            requests:\n              cpu: 10m\n              memory: 32Mi\n          ',
    );
    const wrong = cli(['inject', '--cluster-size', 'evaluation', '-f', deploymentFile()]);
    expect(wrong).toMatchObject({ status: 1, stdout: '' });
    expect(wrong.stderr).toContain('--cluster-size applies only to the kyma-module profile');
  });
});

describe('mesh-webhook command line', () => {
  it.each([
    [['inject'], 'missing -f FILE'],
    [['inject', '-f', 'x', '--bogus'], "Unknown option '--bogus'"],
    [['inject', '-f', 'x', '--profile', 'openshift'], '--profile must be one of kyma, kyma-module, istio'],
    [['inject', '-f', 'x', '--native-sidecars', 'yes'], '--native-sidecars must be true, false or auto'],
    [['inject', '-f', 'x', '--profile', 'kyma-module', '--cluster-size', 'light'], '--cluster-size must be one of auto, evaluation, production; got "light"'],
    [['inject', '-f', 'x', 'extra'], 'positional'],
    [['serve', '--port', 'http'], '--port must be an integer'],
    [['serve', '--cert', 'c.pem'], '--cert and --key go together'],
    [['serve', '--log-level', 'loud'], '--log-level must be one of'],
    [['serve', '--overload-target-delay', '500'], '--overload-target-delay must be a duration with a unit'],
    [['serve', '--overload-max-in-flight', '0'], '--overload-max-in-flight must be an integer 1..1000000'],
    [['deploy'], 'unknown command "deploy"'],
    [['--bogus'], 'expected a command'],
    [[], 'error: no command given: name one of the commands below'],
  ])('%j is a usage error (exit 2)', (args, message) => {
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Usage: mesh-webhook');
  });

  it('prints help', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = cli(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Usage: mesh-webhook <command>');
    }
    expect(cli(['inject', '--help']).stdout).toContain('Usage: mesh-webhook inject -f FILE|-');
    expect(cli(['help', 'serve']).stdout).toContain('Usage: mesh-webhook serve');
    expect(cli(['serve', '-h']).stdout).toContain('--log-level');
    expect(cli(['serve', '-h']).stdout).toContain('--no-overload-guard');
  });

  it('prints the version from package.json', () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('the serve help shows the server defaults (one module, src/server/defaults.ts, read by both)', () => {
    const help = cli(['serve', '-h']).stdout;
    expect(help).toContain('(default 8443)');
    expect(help).toContain('(default 127.0.0.1: this machine only');
    expect(help).toContain('(default 5s)');
    expect(help).toContain('(default 9090;');
  });
});

describe('-f given more than once (as kubectl: every file, in order)', () => {
  it('inject: the injected documents of every file, in order, as one YAML stream', () => {
    const first = file(`${SERVICE}---\n${DEPLOYMENT}`);
    const second = file(DEPLOYMENT.replaceAll('hello', 'second'));
    const r = cli(['inject', '-f', first, '-f', second]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(`${SERVICE}---\n`)).toBe(true);
    const out = docs(r.stdout);
    expect(out.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Service/hello', 'Deployment/hello', 'Deployment/second']);
    expect(findContainer(out[1]?.spec.template.spec, 'istio-proxy')).toBeDefined();
    expect(findContainer(out[2]?.spec.template.spec, 'istio-proxy')).toBeDefined();
  });

  it('inject: -f - is stdin, in its place among the files', () => {
    const r = cli(['inject', '-f', file(SERVICE), '-f', '-'], DEPLOYMENT.replaceAll('hello', 'piped'));
    expect(r.status).toBe(0);
    expect(docs(r.stdout).map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Service/hello', 'Deployment/piped']);
  });

  it('inject: an error names the file it is in; nothing is printed', () => {
    const bad = file(`${SERVICE}---\nkind: Deployment\nspec: [\n`);
    const r = cli(['inject', '-f', deploymentFile(), '-f', bad]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: ${bad.replaceAll('.', '\\.')}: document 2: invalid YAML: `));
    expect(r.stderr.split('\n')).toHaveLength(2);
    const missing = join(dir, 'absent.yaml');
    expect(cli(['inject', '-f', deploymentFile(), '-f', missing])).toMatchObject({ status: 1, stdout: '', stderr: `error: manifest file ${missing} does not exist\n` });
  });

  it('inject: an error late in the stream leaves -o FILE as it was and no temporary file behind', () => {
    const tmp = mkdtempSync(join(dir, 'tmpdir-'));
    const out = join(dir, 'kept.yaml');
    writeFileSync(out, 'before\n');
    const many = Array.from({ length: 50 }, (_, i) => DEPLOYMENT.replaceAll('hello', `app-${i}`)).join('---\n');
    const r = runCli(['inject', '-f', file(`${many}---\nkind: Deployment\nspec: [\n`), '-o', out], { cwd: dir, env: { ...process.env, TMPDIR: tmp } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: document 51: invalid YAML: /);
    expect(readFileSync(out, 'utf8')).toBe('before\n');
    expect(readdirSync(tmp)).toEqual([]);
    const ok = runCli(['inject', '-f', file(many), '-o', out], { cwd: dir, env: { ...process.env, TMPDIR: tmp } });
    expect(ok.status).toBe(0);
    expect(docs(readFileSync(out, 'utf8'))).toHaveLength(50);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('stdin can be read once: -f - twice is a usage error', () => {
    const r = cli(['inject', '-f', '-', '-f', '-'], DEPLOYMENT);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: -f - (stdin) can be given once');
  });

  it('validate: the objects of every file are checked; a finding in the second file counts', () => {
    const reserved = DEPLOYMENT.replaceAll('hello', 'api').replace('containerPort: 80', 'containerPort: 15021');
    const r = cli(['validate', '-f', deploymentFile(), '-f', file(reserved)]);
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      'error MW0101 Deployment shop/api spec.template.spec.containers[0].ports[0]: port 15021 is reserved by the proxy (health); move the application to another port',
      '1 error(s), 0 warning(s), 0 info (2 objects checked)',
      '',
    ]);
    const scalar = file('just a string\n');
    expect(cli(['validate', '-f', deploymentFile(), '-f', scalar])).toMatchObject({
      status: 1,
      stderr: `error: ${scalar}: document 1: expected a Kubernetes object (a map with apiVersion and kind); got "just a string"\n`,
    });
  });

  it('explain: every file is explained', () => {
    const r = cli(['explain', '-f', deploymentFile(), '-f', file(DEPLOYMENT.replaceAll('hello', 'second')), '-o', 'json']);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { object: string }[]).map((e) => e.object)).toEqual(['Deployment shop/hello', 'Deployment shop/second']);
  });
});

describe('npx mesh-webhook after npm ci', () => {
  it('npm ci builds the CLI (prepare) and the bin is the built CLI with a node shebang, so stdout is the command\'s own', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('tsc -p tsconfig.json');
    expect(pkg.bin).toEqual({ 'mesh-webhook': 'dist/cli/main.js' });
    expect(readFileSync(cliMain, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
    // The image builds with --ignore-scripts (no compiler there): prepare must not run in it.
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toContain('npm ci --ignore-scripts');
  });
});
