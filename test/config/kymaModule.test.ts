/**
 * The kyma-module profile as loaded: the module's sizes, and the Kyma Istio custom resource merged as the module's
 * MergeInto merges it (kyma-project/istio api/v1alpha2/istio_merge.go), with the precedence of the other inputs.
 * What it injects is tested against the module's files in test/inject/kymaModule.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, loadConfigWithNotes } from '../../src/config/load.js';
import type { JsonObject } from '../../src/k8s/types.js';
import { compileSettings } from '../../src/inject/settings.js';
import { loadError, yamlFiles } from './helpers.js';

const file = yamlFiles('kyma-module');
const cr = (spec: string) => file(`apiVersion: operator.kyma-project.io/v1alpha2\nkind: Istio\nmetadata: {name: default, namespace: kyma-system}\nspec:\n${spec}`);
const proxyResources = (values: JsonObject) => ((values.global as JsonObject).proxy as JsonObject).resources;
const defaultConfig = (meshConfig: JsonObject) => meshConfig.defaultConfig as JsonObject;

describe('the kyma-module profile', () => {
  it('is the module: opt-in namespaces, CNI, native sidecars auto, its image and the production size by default', () => {
    const config = loadConfig({ profile: 'kyma-module', clusterSize: 'production' });
    const settings = compileSettings(config);
    expect(settings.enableNamespacesByDefault).toBe(false);
    expect(settings.cniEnabled).toBe(true);
    expect(config.nativeSidecars).toBe('auto');
    expect(settings.hub).toBe('europe-docker.pkg.dev/kyma-project/prod/external/istio');
    expect(proxyResources(config.values)).toEqual({ limits: { cpu: '1000m', memory: '1024Mi' }, requests: { cpu: '10m', memory: '192Mi' } });
    expect(config.meshConfig.enablePrometheusMerge).toBe(false);
    expect(config.clusterSize).toEqual({ setting: 'production' });
  });

  it('auto (the default) carries both sizes: production in values, evaluation beside it', () => {
    const config = loadConfig({ profile: 'kyma-module' });
    expect(config.clusterSize?.setting).toBe('auto');
    const evaluation = config.clusterSize?.setting === 'auto' ? config.clusterSize.evaluationValues : {};
    expect(proxyResources(evaluation)).toEqual({ limits: { cpu: '250m', memory: '254Mi' }, requests: { cpu: '10m', memory: '32Mi' } });
    expect(proxyResources(config.values)).toMatchObject({ requests: { memory: '192Mi' } });
  });

  it('takes the size from the config file; the flag wins over it', () => {
    const configFile = file('profile: kyma-module\nclusterSize: evaluation\n');
    expect(loadConfig({ configFile }).clusterSize).toEqual({ setting: 'evaluation' });
    expect(loadConfig({ configFile, clusterSize: 'production' }).clusterSize).toEqual({ setting: 'production' });
  });

  it.each<[string, Parameters<typeof loadError>[0], string]>([
    ['--cluster-size with the kyma profile', { clusterSize: 'evaluation' }, 'config clusterSize: --cluster-size applies only to the kyma-module profile'],
    ['--istio-cr with the istio profile', { profile: 'istio', istioCustomResourceFile: '/nonexistent.yaml' }, 'config istioCustomResource: --istio-cr /nonexistent.yaml applies only'],
    ['a bad size in the file', { configFile: file('profile: kyma-module\nclusterSize: huge\n') }, 'must be one of auto, evaluation, production; got "huge"'],
    ['--set clusterSize', { profile: 'kyma-module', sets: ['clusterSize=evaluation'] }, 'clusterSize cannot be set with --set; use --cluster-size'],
    ['--set istioCustomResource', { profile: 'kyma-module', sets: ['istioCustomResource.spec={}'] }, 'use --istio-cr FILE'],
    ['--set of a name on every object (toString), listing only the keys --set takes', { sets: ['toString=1'] }, 'unknown top-level key; use one of policy, neverInjectSelector,'],
    ['an unknown key of a config file, listing istioCustomResource among the file keys', { configFile: file('profil: kyma\n') }, 'limits, clusterSize, servedRevision, istioCustomResource'],
    ['a resource that is not a map', { configFile: file('profile: kyma-module\nistioCustomResource: [1]\n') }, 'must be the Kyma Istio custom resource (a map); got the list [1]'],
  ])('refuses %s', (_, opts, message) => {
    expect(loadError(opts)).toContain(message);
  });
});

describe('the Kyma Istio custom resource, merged as the module merges it', () => {
  const load = (spec: string, extra: Parameters<typeof loadConfig>[0] = {}) =>
    loadConfigWithNotes({ profile: 'kyma-module', clusterSize: 'production', istioCustomResourceFile: cr(spec), ...extra });

  it.each<[string, string, (c: { values: JsonObject; meshConfig: JsonObject }) => unknown, unknown]>([
    ['numTrustedProxies', '  config: {numTrustedProxies: 2}', (c) => defaultConfig(c.meshConfig).gatewayTopology, { numTrustedProxies: 2 }],
    ['forwardClientCertDetails', '  config: {forwardClientCertDetails: SANITIZE}', (c) => defaultConfig(c.meshConfig).gatewayTopology, { forwardClientCertDetails: 'SANITIZE' }],
    ['prometheusMerge', '  config: {telemetry: {metrics: {prometheusMerge: true}}}', (c) => c.meshConfig.enablePrometheusMerge, true],
    ['no prometheusMerge: false, always written', '  config: {}', (c) => c.meshConfig.enablePrometheusMerge, false],
    ['trustDomain', '  config: {trustDomain: example.org}', (c) => c.meshConfig.trustDomain, 'example.org'],
    ['enableDNSProxying', '  config: {enableDNSProxying: false}', (c) => (defaultConfig(c.meshConfig).proxyMetadata as JsonObject).ISTIO_META_DNS_CAPTURE, 'false'],
    ['proxyStatsMatcher', '  config: {proxyStatsMatcher: {inclusionRegexps: [".*outlier.*"]}}', (c) => defaultConfig(c.meshConfig).proxyStatsMatcher, { inclusionRegexps: ['.*outlier.*'] }],
    ['an empty proxyStatsMatcher: nothing', '  config: {proxyStatsMatcher: {inclusionRegexps: []}}', (c) => defaultConfig(c.meshConfig).proxyStatsMatcher, undefined],
    ['experimental.enableAmbient', '  experimental: {enableAmbient: true}', (c) => (defaultConfig(c.meshConfig).proxyMetadata as JsonObject).ISTIO_META_ENABLE_HBONE, 'true'],
    [
      'proxy resources, one quantity at a time (the size gives the rest)',
      '  components: {proxy: {k8s: {resources: {limits: {memory: 2Gi}, requests: {cpu: 50m}}}}}',
      (c) => proxyResources(c.values),
      { limits: { cpu: '1000m', memory: '2Gi' }, requests: { cpu: '50m', memory: '192Mi' } },
    ],
  ])('%s', (_, spec, read, expected) => {
    expect(read(load(spec).config)).toEqual(expected);
  });

  it('keeps the module mesh settings it does not touch (proxyMetadata of the IstioOperator stays)', () => {
    const { config } = load('  config: {enableDNSProxying: true}');
    expect(defaultConfig(config.meshConfig).proxyMetadata).toEqual({
      BOOTSTRAP_XDS_AGENT: 'true',
      CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE: '4096',
      WORKLOAD_RSA_KEY_SIZE: '3072',
      ISTIO_META_DNS_CAPTURE: 'true',
    });
  });

  it('applies to both sizes with auto, under what the operator sets in mesh-webhook flags', () => {
    const spec = '  components: {proxy: {k8s: {resources: {limits: {memory: 2Gi}}}}}';
    const config = loadConfig({ profile: 'kyma-module', istioCustomResourceFile: cr(spec), sets: ['values.global.proxy.resources.requests.cpu=20m'] });
    const evaluation = config.clusterSize?.setting === 'auto' ? config.clusterSize.evaluationValues : {};
    expect(proxyResources(config.values)).toEqual({ limits: { cpu: '1000m', memory: '2Gi' }, requests: { cpu: '20m', memory: '192Mi' } });
    expect(proxyResources(evaluation)).toEqual({ limits: { cpu: '250m', memory: '2Gi' }, requests: { cpu: '20m', memory: '32Mi' } });
  });

  it("notes the resource's keys that configure istiod, the gateways or CNI", () => {
    const { notes } = load('  config: {gatewayExternalTrafficPolicy: Local}\n  components: {pilot: {k8s: {resources: {requests: {cpu: 200m}}}}}\n  networkPoliciesEnabled: true');
    expect(notes).toContain(
      'Kyma Istio resource keys that configure istiod, the gateways or CNI, not the injected sidecar: spec.config.gatewayExternalTrafficPolicy, spec.components.pilot, spec.networkPoliciesEnabled',
    );
  });

  it('notes and ignores keys this version does not know (a newer module), so a module upgrade cannot stop a restarting replica', () => {
    const { config, notes } = load('  config: {numTrustedProxies: 3, futureSetting: {x: 1}}\n  components: {proxy: {k8s: {resources: {limits: {cpu: \"2\"}}, tolerations: []}}}\n  newTopLevel: true');
    expect(defaultConfig(config.meshConfig).gatewayTopology).toEqual({ numTrustedProxies: 3 });
    expect(proxyResources(config.values)).toMatchObject({ limits: { cpu: '2' } });
    expect(notes).toContain(
      'Kyma Istio resource keys this version does not know (a newer module?), ignored: spec.newTopLevel, spec.config.futureSetting, spec.components.proxy.k8s.tolerations',
    );
  });

  it('is read from the config file as istioCustomResource too', () => {
    const configFile = file('profile: kyma-module\nistioCustomResource:\n  kind: Istio\n  spec:\n    config: {numTrustedProxies: 1}\n');
    expect(defaultConfig(loadConfig({ configFile }).meshConfig).gatewayTopology).toEqual({ numTrustedProxies: 1 });
  });

  it.each<[string, string, string]>([
    ['a negative numTrustedProxies', '  config: {numTrustedProxies: -1}', 'config istioCustomResource.spec.config.numTrustedProxies: must be an integer 0..4294967295; got number -1'],
    ['an unknown XFCC strategy', '  config: {forwardClientCertDetails: KEEP}', 'must be one of APPEND_FORWARD, SANITIZE_SET, SANITIZE, ALWAYS_FORWARD_ONLY, FORWARD_ONLY; got "KEEP"'],
    ['an upper-case trust domain', '  config: {trustDomain: Example.org}', 'config istioCustomResource.spec.config.trustDomain: must be a trust domain'],
    ['a CPU the CRD refuses', '  components: {proxy: {k8s: {resources: {limits: {cpu: 1.5Gi}}}}}', 'config istioCustomResource.spec.components.proxy.k8s.resources.limits.cpu: must be a quoted cpu quantity such as 100m or 0.5; got "1.5Gi"'],
    ['an unquoted number for memory', '  components: {proxy: {k8s: {resources: {requests: {memory: 128}}}}}', 'must be a quoted memory quantity such as 128Mi or 1Gi; got number 128'],
    ['prometheusMerge as text', '  config: {telemetry: {metrics: {prometheusMerge: "yes"}}}', 'spec.config.telemetry.metrics.prometheusMerge: must be true or false; got "yes"'],
  ])('refuses %s, naming the field', (_, spec, message) => {
    expect(loadError({ profile: 'kyma-module', istioCustomResourceFile: cr(spec) })).toContain(message);
  });

  it('refuses another kind of object', () => {
    const other = file('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\n');
    expect(loadError({ profile: 'kyma-module', istioCustomResourceFile: other })).toBe(
      'config istioCustomResource.kind: must be "Istio" (the Kyma Istio custom resource); got "ConfigMap"',
    );
  });
});
