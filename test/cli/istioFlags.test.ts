/**
 * `mesh-webhook inject` with istioctl kube-inject's flags, through the built CLI: the command lines of istioctl's own
 * TestKubeInject (istioctl/pkg/kubeinject/kubeinject_test.go, data in test/fixtures/istioctl-kube-inject), the
 * files of an installation in Istio's formats (test/fixtures/istio-config), and what is refused, in one line.
 * (Istio's golden cases run with these flags in test/conformance/istioFormats.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ensureBuilt } from '../helpers/build.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const KUBE_INJECT = resolve(import.meta.dirname, '../fixtures/istioctl-kube-inject');
const ISTIO_CONFIG = resolve(import.meta.dirname, '../fixtures/istio-config');
const kubeInject = (name: string) => join(KUBE_INJECT, name);
const istioConfig = (name: string) => join(ISTIO_CONFIG, name);
const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-istio-flags-'));

beforeAll(ensureBuilt, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: NodeJS.ProcessEnv = {}): CliRun => runCli(args, { cwd: dir, env: { ...process.env, ENABLE_NATIVE_SIDECARS: '', ...env } });

type Obj = Record<string, any>;
const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((d): d is Obj => d !== null);
const containers = (doc: Obj): Obj[] => [...(doc.spec.template.spec.initContainers ?? []), ...doc.spec.template.spec.containers];
const proxyOf = (doc: Obj): Obj => containers(doc).find((c) => c.name === 'istio-proxy')!;
const proxyConfigOf = (doc: Obj): Obj => JSON.parse(proxyOf(doc).env.find((e: Obj) => e.name === 'PROXY_CONFIG').value);

describe("istioctl's TestKubeInject command lines", () => {
  it('case 0: no -f is a usage error', () => {
    const r = cli(['inject', '--meshConfigFile', kubeInject('mesh-config.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: missing -f FILE (use -f - to read from stdin)');
  });

  it('case 1: a missing -f file is named', () => {
    const r = cli(['inject', '-f', 'missing.yaml', '--meshConfigFile', kubeInject('mesh-config.yaml')]);
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr).toBe('error: manifest file missing.yaml does not exist\n');
  });

  it.each([
    ['case 2', 'inject-config.yaml', 'templates.sidecar is not a stock Istio template (a custom template)'],
    ['case 3 (the template alone)', 'inject-config-inline.yaml', '(taken as the sidecar template, as istioctl does) is not a stock Istio template (a custom template)'],
  ])("%s: istioctl's test template is a custom one, refused in one line (custom templates are a known gap)", (_case, config, message) => {
    const r = cli(['inject', '--meshConfigFile', kubeInject('mesh-config.yaml'), '--injectConfigFile', kubeInject(config), '-f', kubeInject('hello.yaml'), '--valuesFile', kubeInject('inject-values.yaml')]);
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toContain(`--injectConfigFile ${kubeInject(config)}`);
    expect(r.stderr).toContain(message);
  });

  it("cases 4-6: the IstioOperator's tag and meshConfig are what is injected; its values win over --valuesFile", () => {
    // --profile istio: over Istio's defaults, as istioctl installs the IstioOperator.
    const r = cli(['inject', '--profile', 'istio', '--operatorFileName', kubeInject('istio-operator.yaml'), '-f', kubeInject('hello.yaml'), '--valuesFile', kubeInject('inject-values.yaml')]);
    expect(r.status, r.stderr).toBe(0);
    const hello = docs(r.stdout)[0];
    expect(proxyOf(hello!).image).toBe('docker.io/istio/proxyv2:testiop');
    expect(containers(hello!).find((c) => c.name === 'istio-init')!.image).toBe('docker.io/istio/proxyv2:testiop');
    // Its meshConfig's configPath (Istio's default is ./etc/istio/proxy); PROXY_CONFIG carries what differs from the defaults.
    expect(proxyConfigOf(hello!)).toEqual({ configPath: '/etc/istio/proxy' });
    // No ENABLE_NATIVE_SIDECARS=true in istioctl's environment: a classic sidecar, as istioctl without a cluster.
    expect(hello!.spec.template.spec.containers.map((c: Obj) => c.name)).toEqual(['hello', 'istio-proxy']);
  });

  it('-f twice injects both files in order (istioctl keeps only the last -f; the difference is documented)', () => {
    const r = cli(['inject', '--operatorFileName', kubeInject('istio-operator.yaml'), '-f', kubeInject('hello.yaml'), '-f', kubeInject('hello.yaml')]);
    expect(r.status, r.stderr).toBe(0);
    expect(docs(r.stdout)).toHaveLength(2);
  });

  it('ENABLE_NATIVE_SIDECARS=true in the environment gives a native sidecar, as in istioctl; --native-sidecars overrides it', () => {
    const flags = ['inject', '--valuesFile', istioConfig('values.json'), '--meshConfigFile', istioConfig('mesh.yaml'), '-f', kubeInject('hello.yaml')];
    expect(docs(cli(flags, { ENABLE_NATIVE_SIDECARS: 'true' }).stdout)[0]!.spec.template.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init', 'istio-proxy']);
    expect(docs(cli([...flags, '--native-sidecars', 'false'], { ENABLE_NATIVE_SIDECARS: 'true' }).stdout)[0]!.spec.template.spec.containers.map((c: Obj) => c.name)).toEqual(['hello', 'istio-proxy']);
  });
});

describe("an installation's ConfigMaps as kubectl prints them", () => {
  it('inject with the ConfigMaps equals inject with their keys alone', () => {
    const fromConfigMaps = cli(['inject', '--injectConfigFile', istioConfig('istio-sidecar-injector.yaml'), '--valuesFile', istioConfig('istio-sidecar-injector.yaml'), '--meshConfigFile', istioConfig('istio.yaml'), '-f', kubeInject('hello.yaml')]);
    const fromKeys = cli(['inject', '--injectConfigFile', istioConfig('inject-config.yaml'), '--valuesFile', istioConfig('values.json'), '--meshConfigFile', istioConfig('mesh.yaml'), '-f', kubeInject('hello.yaml')]);
    expect(fromConfigMaps.status, fromConfigMaps.stderr).toBe(0);
    expect(fromConfigMaps.stdout).toBe(fromKeys.stdout);
    expect(proxyOf(docs(fromConfigMaps.stdout)[0]!).image).toBe('registry.istio.io/testing/proxyv2:latest');
  });

  it("explain reads the injector's policy as istiod does (inject, as istioctl, does not)", () => {
    const config = join(dir, 'disabled.yaml');
    writeFileSync(config, 'policy: disabled\n');
    const explained = cli(['explain', '--injectConfigFile', config, '-f', kubeInject('hello.yaml'), '-o', 'json']);
    expect(explained.status, explained.stderr).toBe(0);
    expect(JSON.parse(explained.stdout)[0].decision).toMatchObject({ inject: false, rule: 'policy', reason: 'policy disabled' });
    const injected = cli(['inject', '--injectConfigFile', config, '-f', kubeInject('hello.yaml')]);
    expect(injected.status, injected.stderr).toBe(0);
    expect(proxyOf(docs(injected.stdout)[0]!)).toBeDefined();
  });

  it.each([
    ['--injectConfigFile', 'the istio-sidecar-injector ConfigMap or its config key (YAML)'],
    ['--valuesFile', 'the istio-sidecar-injector ConfigMap or its values key (JSON)'],
    ['--meshConfigFile', 'the istio ConfigMap or its mesh key (YAML)'],
    ['--operatorFileName', 'an IstioOperator (YAML)'],
  ])('a missing %s file is named with what the flag expects', (flag, expects) => {
    const missing = join(dir, 'missing.yaml');
    const r = cli(['inject', flag, missing, '-f', kubeInject('hello.yaml')]);
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr).toBe(`error: ${flag} file ${missing} does not exist: pass the path of ${expects} to ${flag}\n`);
  });

  it('--injector-templates ignore takes a configuration with another release\'s template; another value is a usage error', () => {
    const config = join(dir, 'template-1.30.yaml');
    writeFileSync(config, readFileSync(istioConfig('injection-template-1.30.2.yaml')));
    const args = ['inject', '--injectConfigFile', config, '-f', kubeInject('hello.yaml')];
    expect(cli(args)).toMatchObject({ status: 1, stdout: '' });
    const ignored = cli([...args, '--injector-templates', 'ignore']);
    expect(ignored.status, ignored.stderr).toBe(0);
    expect(proxyOf(docs(ignored.stdout)[0]!)).toBeDefined();
    const wrong = cli([...args, '--injector-templates', 'skip']);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('error: --injector-templates must be one of check, ignore; got "skip"');
  });

  it('an empty file name is a usage error', () => {
    const r = cli(['inject', '--valuesFile=', '-f', kubeInject('hello.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: --valuesFile needs a file name');
  });
});
