/**
 * Istio's own configuration (src/config/istioInputs.ts): the injector's config and values, the mesh, an
 * IstioOperator; which parts replace the profile's, the precedence istioctl applies, the templates accepted, and
 * what is refused with a message naming the input.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig, loadConfigWithNotes } from '../../src/config/load.js';
import type { JsonObject } from '../../src/k8s/types.js';
import { createInjector } from '../../src/inject/index.js';
import { loadError, yamlFiles } from './helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/istio-config');
const fixture = (name: string) => path.join(FIXTURES, name);
const file = yamlFiles('istio-inputs');
const injectorConfigMap = parse(readFileSync(fixture('istio-sidecar-injector.yaml'), 'utf8')) as { data: { config: string; values: string } };
const stockConfig = parse(injectorConfigMap.data.config) as JsonObject & { templates: Record<string, string> & { sidecar: string } };
const configWith = (changes: JsonObject) => file(stringify({ ...stockConfig, ...changes }, { lineWidth: 0 }));
const global = (values: JsonObject) => values.global as JsonObject & { hub: string; tag: string; proxy: JsonObject & { resources: JsonObject } };

/** The istio-proxy container a pod gets with `opts`. */
function proxyOf(opts: Parameters<typeof loadConfig>[0]) {
  const outcome = createInjector(loadConfig(opts)).inject({ pod: { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'app' }] } }, namespace: 'default' });
  if (outcome.kind !== 'injected') throw new Error(`not injected: ${outcome.reason}`);
  const all = [...(outcome.pod.spec?.initContainers ?? []), ...(outcome.pod.spec?.containers ?? [])];
  return all.find((c) => c.name === 'istio-proxy')!;
}

describe('the istio-sidecar-injector ConfigMap', () => {
  it('replaces the profile: policy, selectors and injected annotations from config, values over the chart defaults, native sidecars from pilot.env', () => {
    const values = JSON.parse(injectorConfigMap.data.values) as JsonObject;
    (values.global as JsonObject).hub = 'registry.example.com/istio';
    (values as { pilot: { env: JsonObject } }).pilot.env = { ENABLE_NATIVE_SIDECARS: 'false' };
    const cm = file(
      stringify({
        ...injectorConfigMap,
        data: {
          config: stringify({ ...stockConfig, policy: 'disabled', alwaysInjectSelector: [{ matchLabels: { mesh: 'yes' } }], injectedAnnotations: { 'example.com/injected': 'yes' } }, { lineWidth: 0 }),
          values: JSON.stringify(values),
        },
      }, { lineWidth: 0 }),
    );
    const { config, notes } = loadConfigWithNotes({ istio: { injector: { file: cm }, values: { file: cm } } });
    expect(config.policy).toBe('disabled');
    expect(config.alwaysInjectSelector).toEqual([{ matchLabels: { mesh: 'yes' } }]);
    expect(config.injectedAnnotations).toEqual({ 'example.com/injected': 'yes' });
    expect(global(config.values).hub).toBe('registry.example.com/istio');
    // Kyma's resources are the profile's: the installation's values (the chart's defaults here) replace them.
    expect(global(config.values).proxy.resources).toEqual({ limits: { cpu: '2000m', memory: '1024Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    expect(config.nativeSidecars).toBe(false);
    expect(notes).toEqual([expect.stringContaining('templates mesh-webhook does not render (a pod asking for one with inject.istio.io/templates is refused; leave such pods to istiod): gateway, grpc-simple')]);
  });

  it('without ENABLE_NATIVE_SIDECARS in the values, native sidecars are auto, as istiod decides them', () => {
    expect(loadConfig({ istio: { values: { file: fixture('values.json') } } }).nativeSidecars).toBe('auto');
  });

  it('finds each key in a List of both ConfigMaps (kubectl get cm istio-sidecar-injector istio -o yaml)', () => {
    const list = file(
      stringify({ apiVersion: 'v1', kind: 'List', items: [parse(readFileSync(fixture('istio-sidecar-injector.yaml'), 'utf8')), parse(readFileSync(fixture('istio.yaml'), 'utf8'))] }, { lineWidth: 0 }),
    );
    const fromList = loadConfig({ profile: 'istio', istio: { injector: { file: list }, values: { file: list }, mesh: { file: list } } });
    const fromKeys = loadConfig({ profile: 'istio', istio: { injector: { file: fixture('inject-config.yaml') }, values: { file: fixture('values.json') }, mesh: { file: fixture('mesh.yaml') } } });
    expect(fromList).toEqual(fromKeys);
  });

  it('finds them in a whole installation manifest (istioctl manifest generate: many kinds, one document each)', () => {
    const manifest = file(
      [
        stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'istiod', namespace: 'istio-system' } }),
        readFileSync(fixture('istio.yaml'), 'utf8'),
        stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'istiod', namespace: 'istio-system' }, spec: { template: { spec: { containers: [{ name: 'discovery', image: 'pilot' }] } } } }),
        readFileSync(fixture('istio-sidecar-injector.yaml'), 'utf8'),
      ].join('---\n'),
    );
    const fromManifest = loadConfig({ profile: 'istio', istio: { injector: { file: manifest }, values: { file: manifest }, mesh: { file: manifest } } });
    const fromKeys = loadConfig({ profile: 'istio', istio: { injector: { file: fixture('inject-config.yaml') }, values: { file: fixture('values.json') }, mesh: { file: fixture('mesh.yaml') } } });
    expect(fromManifest).toEqual(fromKeys);
  });

  it('a ConfigMap without the key is refused, naming what it found and what to give', () => {
    expect(loadError({ istio: { values: { file: fixture('istio.yaml') } } })).toBe(
      `config: --valuesFile ${fixture('istio.yaml')}: no ConfigMap in it has the key values (found istio); give istiod's injector ConfigMap: kubectl get configmap istio-sidecar-injector -n istio-system -o yaml`,
    );
  });

  it('keys of another Istio version are noted and left out, not refused (an upgrade of Istio must not stop the webhook)', () => {
    const values = file(JSON.stringify({ global: { hub: 'example.com/istio', futureSetting: true }, sidecarInjectorWebhook: { newKnob: 1 } }));
    const { config, notes } = loadConfigWithNotes({ istio: { values: { file: values } } });
    expect(global(config.values).hub).toBe('example.com/istio');
    expect(global(config.values)).not.toHaveProperty('futureSetting');
    expect(notes).toContain(`--valuesFile ${values}: keys this version does not know (another Istio version?), ignored: values.global.futureSetting, values.sidecarInjectorWebhook.newKnob`);
  });

  it.each([
    ['policy: sometimes', { policy: 'sometimes' }, 'policy must be enabled or disabled; got "sometimes" (istiod would log an error and never inject)'],
    ['no policy (istiod never injects: its injectRequired takes a missing policy as an illegal one)', { policy: undefined }, 'policy must be enabled or disabled; it is missing (istiod would log an error and never inject)'],
    ['defaultTemplates other than sidecar', { defaultTemplates: ['sidecar', 'custom'] }, "mesh-webhook renders only Istio's sidecar template; set defaultTemplates: [sidecar]"],
    ['aliases', { aliases: { mine: ['sidecar'] } }, 'template aliases (mine) are not supported'],
    ['templates without sidecar', { templates: { gateway: stockConfig.templates.gateway } }, 'templates has no sidecar template (it has gateway): istiod would fail every injection'],
  ])('refuses %s, naming the input', (_name, changes, message) => {
    const config = configWith(changes);
    const error = loadError({ istio: { injector: { file: config } } });
    expect(error).toContain(`--injectConfigFile ${config}`);
    expect(error).toContain(message);
  });
});

describe('templates', () => {
  const template130 = readFileSync(fixture('injection-template-1.30.2.yaml'), 'utf8');

  it("accepts the stock sidecar template we render, whatever its line ends and trailing spaces", () => {
    const reformatted = `${stockConfig.templates.sidecar.split('\n').map((l) => `${l}  `).join('\r\n')}\r\n\r\n`;
    expect(loadConfig({ istio: { injector: { file: configWith({ templates: { sidecar: reformatted } }) } } }).policy).toBe('enabled');
  });

  it("refuses another release's stock template, naming the release and what we render", () => {
    const config = configWith({ templates: { sidecar: template130 } });
    expect(loadError({ istio: { injector: { file: config } } })).toBe(
      `config templates.sidecar: --injectConfigFile ${config}: templates.sidecar is the stock template of Istio 1.30.0–1.30.3; mesh-webhook renders only Istio 1.32-dev (istio/istio 86c9f01fd735)'s sidecar template, which injects differently. Remove templates from the injector configuration (or give only --valuesFile and --meshConfigFile) to inject with the template mesh-webhook renders; docs/configuration.md#istio-configuration`,
    );
  });

  it('--injector-templates ignore: not compared, said in a note (a cluster whose Istio upgrades itself)', () => {
    const config = configWith({ templates: { sidecar: template130 }, defaultTemplates: ['sidecar'] });
    const { config: loaded, notes } = loadConfigWithNotes({ istio: { injector: { file: config } }, istioTemplates: 'ignore' });
    expect(loaded.policy).toBe('enabled');
    expect(notes).toEqual([
      `--injectConfigFile ${config}: templates not compared (--injector-templates ignore): pods get the sidecar of Istio 1.32-dev (istio/istio 86c9f01fd735), which mesh-webhook renders; mesh-webhook outdated --diff shows how it differs from istiod's`,
    ]);
  });

  it('refuses a custom template', () => {
    const custom = stockConfig.templates.sidecar.replace('- name: istio-proxy', '- name: my-proxy');
    expect(loadError({ istio: { injector: { file: configWith({ templates: { sidecar: custom } }) } } })).toContain('is not a stock Istio template (a custom template)');
  });

  it('as istioctl kube-inject, a file that is not an injection config is the sidecar template itself', () => {
    const bare = file(stockConfig.templates.sidecar);
    expect(loadConfig({ istio: { injector: { file: bare } }, istioReadMode: 'kube-inject' }).policy).toBe('enabled');
    expect(loadError({ istio: { injector: { file: file(template130) } }, istioReadMode: 'kube-inject' })).toContain('(taken as the sidecar template, as istioctl does) is the stock template of Istio 1.30.0–1.30.3');
    // istiod reads only an injection config.
    expect(loadError({ istio: { injector: { file: bare } } })).toBe(`config: --injectConfigFile ${bare}: not an injection configuration (YAML syntax error: Block collections are not allowed within flow collections at line 1, column 3); give istiod's injector ConfigMap: kubectl get configmap istio-sidecar-injector -n istio-system -o yaml`);
  });

  it("as istioctl kube-inject, the config's policy, selectors and injected annotations are not applied", () => {
    const config = configWith({ policy: 'disabled', neverInjectSelector: [{ matchLabels: { a: 'b' } }], injectedAnnotations: { x: 'y' } });
    const loaded = loadConfig({ profile: 'istio', istio: { injector: { file: config } }, istioReadMode: 'kube-inject' });
    expect([loaded.policy, loaded.neverInjectSelector, loaded.injectedAnnotations]).toEqual(['enabled', [], {}]);
  });
});

describe('a pod asking for a template we do not render', () => {
  const ask = (template: string) =>
    createInjector(loadConfig({ istio: { injector: { file: fixture('istio-sidecar-injector.yaml') } } })).inject({
      pod: { metadata: { name: 'gw', namespace: 'default', annotations: { 'inject.istio.io/templates': template } }, spec: { containers: [{ name: 'app', image: 'app' }] } },
      namespace: 'default',
    });

  it("one of Istio's stock templates: refused with Istio's message, saying to leave the pod to istiod", () => {
    expect(ask('gateway')).toMatchObject({
      kind: 'rejected',
      message: "invalid value 'gateway' for annotation 'inject.istio.io/templates': requested template 'gateway' not found; have [sidecar]; mesh-webhook renders only Istio's sidecar template: leave pods asking for gateway to istiod's injector",
    });
  });

  it("another name: Istio's message alone", () => {
    expect(ask('mine')).toMatchObject({ kind: 'rejected', message: "invalid value 'mine' for annotation 'inject.istio.io/templates': requested template 'mine' not found; have [sidecar]" });
  });
});

describe('the mesh', () => {
  it("is Istio's default mesh under the ConfigMap's (not the profile's), proto names read as Istio reads them", () => {
    const mesh = file('default_config:\n  discoveryAddress: istiod-x.istio-system.svc:15012\nenablePrometheusMerge: false\n');
    const { config } = loadConfigWithNotes({ istio: { mesh: { file: mesh } } });
    expect((config.meshConfig.defaultConfig as JsonObject).discoveryAddress).toBe('istiod-x.istio-system.svc:15012');
    // The kyma profile's tracing (zipkin.kyma-system) is not Istio's default: the installation's mesh replaces it.
    expect((config.meshConfig.defaultConfig as JsonObject).tracing).toBeUndefined();
    expect(config.meshConfig.enablePrometheusMerge).toBe(false);
  });
});

describe('an IstioOperator', () => {
  const operator = (spec: JsonObject) => file(stringify({ apiVersion: 'install.istio.io/v1alpha1', kind: 'IstioOperator', metadata: { name: 'x', namespace: 'istio-system' }, spec }));

  it('hub, tag and revision become values (image, CA_ADDR, discovery address); the profile and the user values apply in order', () => {
    const iop = operator({ profile: 'demo', hub: 'example.com/istio', tag: '1.32.0', revision: 'canary', values: { global: { proxy: { resources: { limits: { cpu: '300m' } } } } } });
    const proxy = proxyOf({ istio: { operator: { file: iop } }, nativeSidecars: false });
    expect(proxy.image).toBe('example.com/istio/proxyv2:1.32.0');
    expect(proxy.env).toContainEqual({ name: 'CA_ADDR', value: 'istiod-canary.istio-system.svc:15012' });
    expect(JSON.parse(proxy.env!.find((e) => e.name === 'PROXY_CONFIG')!.value!).discoveryAddress).toBe('istiod-canary.istio-system.svc:15012');
    // An override, as Kyma merges one onto its IstioOperator: demo's chart profile requests 10m/40Mi and the user's
    // limit go over the kyma profile's resources (limits 200m/128Mi).
    expect(proxy.resources).toEqual({ requests: { cpu: '10m', memory: '40Mi' }, limits: { cpu: '300m', memory: '128Mi' } });
    // With the istio profile, over Istio's defaults, as istioctl installs it.
    expect(proxyOf({ profile: 'istio', istio: { operator: { file: iop } }, nativeSidecars: false }).resources).toEqual({ requests: { cpu: '10m', memory: '40Mi' }, limits: { cpu: '300m', memory: '1Gi' } });
  });

  it('a partial override keeps what the profile sets (Kyma: "merged with the defaults")', () => {
    const loaded = loadConfig({ istio: { operator: { file: operator({ values: { global: { proxy: { resources: { requests: { cpu: '50m' } } } } } }) } } });
    expect(global(loaded.values).hub).toBe('europe-docker.pkg.dev/kyma-project/prod/external/istio');
    expect(global(loaded.values).proxy.resources).toEqual({ requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } });
    expect((loaded.meshConfig.defaultConfig as JsonObject).holdApplicationUntilProxyStarts).toBe(true);
  });

  it('components.cni.enabled is values.pilot.cni.enabled (istio-validation instead of istio-init); the ambient chart profile turns distroless on', () => {
    const loaded = loadConfig({ istio: { operator: { file: operator({ profile: 'ambient' }) } } });
    expect((loaded.values.pilot as { cni: { enabled: boolean } }).cni.enabled).toBe(true);
    expect(global(loaded.values).variant).toBe('distroless');
    expect(loadConfig({ istio: { operator: { file: operator({ components: { cni: { enabled: true } }, values: { pilot: { cni: { enabled: false } } } }) } } }).values.pilot).toMatchObject({ cni: { enabled: false } });
  });

  it("takes precedence as in istioctl: its values replace --valuesFile; its meshConfig replaces --meshConfigFile only when it has one", () => {
    const values = file(JSON.stringify({ global: { hub: 'from-values-file/istio' } }));
    const mesh = file('defaultConfig:\n  concurrency: 7\n');
    const without = loadConfigWithNotes({ istio: { operator: { file: operator({ hub: 'from-operator/istio' }) }, values: { file: values }, mesh: { file: mesh } } });
    expect(global(without.config.values).hub).toBe('from-operator/istio');
    expect(without.notes).toContain(`--valuesFile ${values} is not read: the IstioOperator's values take precedence, as in istioctl`);
    expect((without.config.meshConfig.defaultConfig as JsonObject).concurrency).toBe(7);
    const withMesh = loadConfigWithNotes({ istio: { operator: { file: operator({ meshConfig: { defaultConfig: { concurrency: 3 } } }) }, mesh: { file: mesh } } });
    expect((withMesh.config.meshConfig.defaultConfig as JsonObject).concurrency).toBe(3);
    expect(withMesh.notes).toContain(`--meshConfigFile ${mesh} is not read: the IstioOperator's meshConfig takes precedence, as in istioctl`);
  });

  it.each([
    ['an unknown profile', operator({ profile: 'tiny' }), 'profile "tiny" not found; Istio\'s profiles are ambient, default, demo'],
    ['an unknown chart profile', operator({ values: { profile: 'tiny' } }), 'unknown profile "tiny" (the istio-discovery chart has no tiny.yaml)'],
    ['two IstioOperators', file(`${stringify({ kind: 'IstioOperator', spec: {} })}---\n${stringify({ kind: 'IstioOperator', spec: {} })}`), 'contains multiple IstioOperator CRs, only one per file is supported'],
    ['no IstioOperator', file('kind: ConfigMap\n'), 'no IstioOperator in it'],
  ])('refuses %s', (_name, iop, message) => {
    expect(loadError({ istio: { operator: { file: iop } } })).toContain(message);
  });
});
