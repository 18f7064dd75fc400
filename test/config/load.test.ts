import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseSet } from '../../src/config/load.js';
import { profileConfig } from '../../src/config/profiles.js';
import { ConfigError } from '../../src/config/types.js';
import type { JsonObject } from '../../src/k8s/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function file(text: string, name = `f${++fileCount}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function at(obj: JsonObject, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as JsonObject | undefined)?.[key], obj);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: profiles', () => {
  it('defaults to the kyma profile', () => {
    const cfg = loadConfig();
    expect(cfg.profile).toBe('kyma');
    expect(at(cfg.values, 'global.proxy.resources')).toEqual({
      requests: { cpu: '20m', memory: '32Mi' },
      limits: { cpu: '200m', memory: '128Mi' },
    });
    expect(cfg.nativeSidecars).toBe(true);
  });

  it('--profile istio gives Istio chart defaults', () => {
    const cfg = loadConfig({ profile: 'istio' });
    expect(cfg.profile).toBe('istio');
    expect(at(cfg.values, 'global.proxy.resources.requests')).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(cfg.excludedNamespaces).toEqual([]);
  });

  it("takes the config file's profile unless --profile is given", () => {
    const f = file('profile: istio\n');
    expect(loadConfig({ configFile: f }).profile).toBe('istio');
    expect(loadConfig({ configFile: f, profile: 'kyma' }).profile).toBe('kyma');
    expect(at(loadConfig({ configFile: f, profile: 'kyma' }).values, 'global.proxy.resources.requests.cpu')).toBe('20m');
  });

  it('never mutates the built-in profile', () => {
    loadConfig({ sets: ['values.global.proxy.image=changed', 'values.gateways.securityContext.x=1', 'excludedNamespaces=["a"]'] });
    expect(at(loadConfig().values, 'global.proxy.image')).toBe('proxyv2');
    expect(at(profileConfig('kyma').values, 'gateways.securityContext')).toEqual({});
    expect(profileConfig('kyma').excludedNamespaces).toEqual(['istio-system', 'kube-system']);
  });
});

describe('loadConfig: precedence', () => {
  const configFile = file(`
policy: disabled
excludedNamespaces: [team-a]
injectedAnnotations: {owner: platform}
values:
  global:
    hub: from-config
    tag: "1.0"
meshConfig:
  defaultConfig:
    statusPort: 15021
`);
  const valuesFile = file('global:\n  tag: "2.0"\n  proxy:\n    image: from-values\n');
  const valuesFile2 = file('global:\n  proxy:\n    image: from-values-2\n');
  const meshFile = file('enablePrometheusMerge: true\ndefaultConfig:\n  statusPort: 15030\n');

  it('profile < config file < --values < --mesh < --set < --native-sidecars', () => {
    const cfg = loadConfig({
      configFile,
      valuesFiles: [valuesFile, valuesFile2],
      meshFiles: [meshFile],
      sets: ['values.global.tag="3.0"', 'nativeSidecars=true'],
      nativeSidecars: false,
    });
    expect(cfg.policy).toBe('disabled');
    expect(cfg.excludedNamespaces).toEqual(['team-a']); // replaces the profile's list
    expect(cfg.injectedAnnotations).toEqual({ owner: 'platform' });
    expect(at(cfg.values, 'global.hub')).toBe('from-config');
    expect(at(cfg.values, 'global.tag')).toBe('3.0');
    expect(at(cfg.values, 'global.proxy.image')).toBe('from-values-2');
    // deep merge keeps the profile's siblings
    expect(at(cfg.values, 'global.proxy.resources.requests.cpu')).toBe('20m');
    expect(at(cfg.meshConfig, 'defaultConfig.statusPort')).toBe(15030);
    expect(at(cfg.meshConfig, 'defaultConfig.holdApplicationUntilProxyStarts')).toBe(true);
    expect(at(cfg.meshConfig, 'enablePrometheusMerge')).toBe(true);
    expect(cfg.nativeSidecars).toBe(false);
  });

  it('applies --set in order', () => {
    const cfg = loadConfig({ sets: ['values.global.hub=a', 'values.global.hub=b'] });
    expect(at(cfg.values, 'global.hub')).toBe('b');
  });

  it('reads an empty file as an empty map', () => {
    expect(loadConfig({ configFile: file(''), valuesFiles: [file('# nothing\n')] }).policy).toBe('enabled');
  });
});

describe('loadConfig: --set', () => {
  it.each([
    ['values.global.proxy.statusPort=123', 'global.proxy.statusPort', 123],
    ['values.pilot.cni.enabled=true', 'pilot.cni.enabled', true],
    ['values.global.proxy.resources.limits.cpu=null', 'global.proxy.resources.limits.cpu', null],
    ['values.global.imagePullSecrets=["barSecret"]', 'global.imagePullSecrets', ['barSecret']],
    ['values.global.tag="1.30"', 'global.tag', '1.30'],
    ['values.global.proxy.image=proxyTest', 'global.proxy.image', 'proxyTest'],
    ['values.global.proxy.includeIPRanges=127.0.0.1/24,10.96.0.1/24', 'global.proxy.includeIPRanges', '127.0.0.1/24,10.96.0.1/24'],
    ['values.global.network=', 'global.network', ''],
    ['values.global.proxy.logLevel=a=b', 'global.proxy.logLevel', 'a=b'],
    ['values.pilot.env.deep.key={"x":1}', 'pilot.env.deep.key', { x: 1 }],
  ])('%s', (expr, path, expected) => {
    expect(at(loadConfig({ sets: [expr] }).values, path)).toEqual(expected);
  });

  it('sets meshConfig paths and top-level keys', () => {
    const cfg = loadConfig({
      sets: [
        'meshConfig.defaultConfig.interceptionMode=TPROXY',
        'meshConfig.defaultConfig.tracing={}',
        'policy=disabled',
        'excludedNamespaces=["x","y"]',
        'injectedAnnotations.team=mesh',
        'namespaceLabels.prod={"env":"prod"}',
      ],
    });
    expect(at(cfg.meshConfig, 'defaultConfig.interceptionMode')).toBe('TPROXY');
    expect(at(cfg.meshConfig, 'defaultConfig.tracing')).toEqual({});
    expect(cfg.policy).toBe('disabled');
    expect(cfg.excludedNamespaces).toEqual(['x', 'y']);
    expect(cfg.injectedAnnotations).toEqual({ team: 'mesh' });
    expect(cfg.namespaceLabels).toEqual({ prod: { env: 'prod' } });
  });

  it('parses JSON values and keeps other text as a string', () => {
    expect(parseSet('a.b=12').value).toBe(12);
    expect(parseSet('a.b=false').value).toBe(false);
    expect(parseSet('a.b=null').value).toBeNull();
    expect(parseSet('a.b="12"').value).toBe('12');
    expect(parseSet('a.b=12x').value).toBe('12x');
    expect(parseSet('a.b=[1,').value).toBe('[1,');
    expect(parseSet('a.b.c=1').path).toEqual(['a', 'b', 'c']);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('rejects the path segment %s', (segment) => {
    const err = configError(() => loadConfig({ sets: [`values.${segment}.polluted=1`] }));
    expect(err.message).toContain(segment);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['values.global.hub', 'PATH=VALUE'],
    ['=x', 'PATH=VALUE'],
    ['values..hub=x', 'empty path segment'],
    ['bogus.key=1', 'unknown top-level key'],
    ['profile=istio', 'use --profile'],
    ['values.global.hub.name=x', 'values.global.hub is "docker.io/istio", not a map'],
  ])('rejects --set %s', (expr, message) => {
    expect(configError(() => loadConfig({ profile: 'istio', sets: [expr] })).message).toContain(message);
  });

  it.each([
    ['values.global.tag=1.30', 'global.tag', '1.30'],
    ['values.global.tag=1', 'global.tag', '1'],
    ['values.global.hub=1e3', 'global.hub', '1e3'],
    ['values.global.proxy.image=true', 'global.proxy.image', 'true'],
    ['values.global.proxy.resources.requests.cpu=0.10', 'global.proxy.resources.requests.cpu', '0.10'],
    ['values.global.proxy.resources.requests.ephemeral-storage=1024', 'global.proxy.resources.requests.ephemeral-storage', '1024'],
    ['values.global.proxy.excludeInboundPorts=15020', 'global.proxy.excludeInboundPorts', '15020'],
    ['values.global.network=007', 'global.network', '007'],
    ['values.pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API=true', 'pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API', 'true'],
  ])('keeps the text of a number or boolean set on a text field: %s', (expr, path, expected) => {
    expect(at(loadConfig({ sets: [expr] }).values, path)).toBe(expected);
  });

  it('keeps text in string maps and text fields of meshConfig and the top level', () => {
    const cfg = loadConfig({
      sets: [
        'meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true',
        'meshConfig.trustDomain=2026',
        'injectedAnnotations.build=1.10',
        'namespaceLabels.prod.tier=1',
      ],
    });
    expect(at(cfg.meshConfig, 'defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE')).toBe('true');
    expect(at(cfg.meshConfig, 'trustDomain')).toBe('2026');
    expect(cfg.injectedAnnotations).toEqual({ build: '1.10' });
    expect(cfg.namespaceLabels).toEqual({ prod: { tier: '1' } });
  });

  it('keeps numbers, booleans and JSON for fields that are not text', () => {
    const cfg = loadConfig({
      sets: [
        'values.global.proxy.statusPort=15021',
        'values.global.proxy.readinessPeriodSeconds=20',
        'values.global.logAsJson=true',
        'meshConfig.enablePrometheusMerge=false',
        'values.global.proxy.resources={"requests":{"cpu":"50m"}}',
        'limits.env=100',
      ],
    });
    expect(at(cfg.values, 'global.proxy.statusPort')).toBe(15021);
    expect(at(cfg.values, 'global.proxy.readinessPeriodSeconds')).toBe(20);
    expect(at(cfg.values, 'global.logAsJson')).toBe(true);
    expect(at(cfg.meshConfig, 'enablePrometheusMerge')).toBe(false);
    expect(at(cfg.values, 'global.proxy.resources')).toEqual({ requests: { cpu: '50m' } });
    expect(cfg.limits.env).toBe(100);
  });

  it('a number inside a JSON map has lost its text: the message asks for quotes without an altered value', () => {
    const err = configError(() => loadConfig({ sets: ['values.global={"tag":1.30}'] }));
    expect(err.message).toBe('config values.global.tag: must be a string: write it in quotes exactly as meant (e.g. "1.30", not 1.30); got number 1.3');
  });
});

describe('loadConfig: unquoted text in YAML files', () => {
  it.each([
    ['values', 'global:\n  tag: 1.30\n', 'values.global.tag', '1.30', 'number 1.3'],
    ['values', 'global:\n  proxy:\n    resources:\n      requests:\n        cpu: 0.50\n', 'values.global.proxy.resources.requests.cpu', '0.50', 'number 0.5'],
    ['mesh', 'defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: true\n', 'meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE', 'true', 'boolean true'],
    ['config', 'values:\n  global:\n    hub: 0x1F\n', 'values.global.hub', '0x1F', 'number 31'],
  ])('%s file: %s is refused with the quoting that keeps it', (what, text, path, source, read) => {
    const f = file(text);
    const opts = what === 'values' ? { valuesFiles: [f] } : what === 'mesh' ? { meshFiles: [f] } : { configFile: f };
    const err = configError(() => loadConfig(opts));
    expect(err.path).toBe(path);
    expect(err.message).toBe(`config ${path}: in ${what} file ${f}: must be text, but YAML reads ${source} as the ${read}; quote it as written: "${source}"`);
  });

  it.each([
    ['global:\n  tag: 11\n', '11'],
    ['global:\n  tag: 1.12\n', '1.12'],
  ])('values file: a number written as its own text (%j) is that text, as Istio renders it', (text, tag) => {
    const cfg = loadConfig({ valuesFiles: [file(text)] });
    expect((cfg.values.global as Record<string, unknown>).tag).toBe(tag);
  });

  it('mesh file: a number for a text field is refused even when written as its own text (MeshConfig is typed)', () => {
    const f = file('defaultConfig:\n  proxyMetadata:\n    PORT: 15021\n');
    const err = configError(() => loadConfig({ meshFiles: [f] }));
    expect(err.message).toBe(`config meshConfig.defaultConfig.proxyMetadata.PORT: in mesh file ${f}: must be text, but YAML reads 15021 as the number 15021; quote it as written: "15021"`);
  });

  it('quoted text, and numbers and booleans of fields that are not text, load as before', () => {
    const cfg = loadConfig({
      valuesFiles: [file('global:\n  tag: "1.30"\n  logAsJson: true\n  proxy:\n    statusPort: 15021\n')],
      meshFiles: [file('enablePrometheusMerge: false\n')],
    });
    expect(at(cfg.values, 'global.tag')).toBe('1.30');
    expect(at(cfg.values, 'global.logAsJson')).toBe(true);
    expect(at(cfg.values, 'global.proxy.statusPort')).toBe(15021);
    expect(at(cfg.meshConfig, 'enablePrometheusMerge')).toBe(false);
  });
});

describe('loadConfig: files', () => {
  it('names a missing file', () => {
    const missing = join(dir, 'nope.yaml');
    expect(configError(() => loadConfig({ configFile: missing })).message).toContain(`config file ${missing} does not exist`);
    expect(configError(() => loadConfig({ valuesFiles: [missing] })).message).toContain(`values file ${missing}`);
    expect(configError(() => loadConfig({ meshFiles: [missing] })).message).toContain(`mesh file ${missing}`);
  });

  it('names a directory', () => {
    expect(configError(() => loadConfig({ configFile: dir })).message).toContain('is a directory');
  });

  it('names the file and line of a YAML syntax error', () => {
    const f = file('policy: enabled\nvalues:\n  global: [\n');
    const err = configError(() => loadConfig({ configFile: f }));
    expect(err.message).toContain(f);
    expect(err.message).toMatch(/YAML syntax error: .* at line \d+, column \d+/);
  });

  it('rejects duplicate keys and several documents', () => {
    expect(configError(() => loadConfig({ valuesFiles: [file('a: 1\na: 2\n')] })).message).toMatch(/unique.*line 2/);
    expect(configError(() => loadConfig({ meshFiles: [file('a: 1\n---\nb: 2\n')] })).message).toContain('single YAML document');
  });

  it('rejects a file that is not a map', () => {
    const f = file('- a\n- b\n');
    expect(configError(() => loadConfig({ valuesFiles: [f] })).message).toContain(`values file ${f}: must contain a YAML map`);
  });

  it('names an unknown key of the config file and lists the allowed ones', () => {
    const f = file('polcy: disabled\n');
    const err = configError(() => loadConfig({ configFile: f }));
    expect(err.path).toBe('polcy');
    expect(err.message).toContain(f);
    expect(err.message).toContain('policy, neverInjectSelector');
  });

  it('rejects a non-map values/meshConfig and a bad profile in the config file', () => {
    expect(configError(() => loadConfig({ configFile: file('values: [1]\n') })).path).toBe('values');
    expect(configError(() => loadConfig({ configFile: file('meshConfig: 3\n') })).path).toBe('meshConfig');
    expect(configError(() => loadConfig({ configFile: file('profile: openshift\n') })).message).toContain('kyma, kyma-module, istio');
  });

  it('validates what the config file sets, naming the path', () => {
    const err = configError(() => loadConfig({ configFile: file('values:\n  global:\n    proxy:\n      statusPort: 70000\n') }));
    expect(err.path).toBe('values.global.proxy.statusPort');
    expect(err.message).toContain('70000');
  });

  const conformanceDefaults = fileURLToPath(new URL('../fixtures/istio/defaults', import.meta.url));
  it('works with the conformance defaults files', () => {
    const base = conformanceDefaults;
    const cfg = loadConfig({ profile: 'istio', valuesFiles: [`${base}/values.yaml`], meshFiles: [`${base}/mesh.yaml`] });
    expect(at(cfg.values, 'global.hub')).toBe('registry.istio.io/testing');
    expect(at(cfg.meshConfig, 'trustDomain')).toBe('cluster.local');
  });
});

describe('loadConfig: requests within limits', () => {
  it.each([
    [['values.global.proxy.resources.requests.cpu=500m'], 'values.global.proxy.resources.requests.cpu', '"500m" is above values.global.proxy.resources.limits.cpu "200m"'],
    [['values.global.proxy.resources.requests.memory=1Gi'], 'values.global.proxy.resources.requests.memory', '"1Gi" is above values.global.proxy.resources.limits.memory "128Mi"'],
    [['values.global.proxy.resources.limits.memory=1000Mi', 'values.global.proxy.resources.requests.memory=1Gi'], 'values.global.proxy.resources.requests.memory', '"1Gi" is above values.global.proxy.resources.limits.memory "1000Mi"'],
    [['values.global.proxy_init.resources={"requests":{"cpu":"1"},"limits":{"cpu":"999m"}}'], 'values.global.proxy_init.resources.requests.cpu', '"1" is above values.global.proxy_init.resources.limits.cpu "999m"'],
  ])('kyma profile with %j is refused naming %s', (sets, path, text) => {
    const err = configError(() => loadConfig({ sets }));
    expect(err.path).toBe(path);
    expect(err.message).toContain(text);
    expect(err.message).toContain('lower the request or raise the limit');
  });

  it.each([
    [['values.global.proxy.resources.requests.cpu=200m']],
    [['values.global.proxy.resources.requests.cpu=0.2']],
    [['values.global.proxy.resources.limits.cpu=null', 'values.global.proxy.resources.requests.cpu=4']],
    [['values.global.proxy.resources.requests.memory=128Mi']],
  ])('%j loads (equal values, other spellings, no limit)', (sets) => {
    expect(() => loadConfig({ sets })).not.toThrow();
  });
});
