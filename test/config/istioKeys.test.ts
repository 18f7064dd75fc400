/** `values` and `meshConfig` keys against Istio's schema, through loadConfig: config file, --values, --mesh, --set. */
import { describe, expect, it } from 'vitest';
import { loadConfig, loadConfigWithNotes, type LoadConfigOptions } from '../../src/config/load.js';
import { editDistance, nearestKey } from '../../src/config/suggest.js';
import { createInjector } from '../../src/inject/index.js';
import { loadError, yamlFiles } from './helpers.js';

const file = yamlFiles('istio-keys');

describe('unknown values and meshConfig keys', () => {
  it.each<[string, LoadConfigOptions, string]>([
    ['--set values.global.hubb', { sets: ['values.global.hubb=x'] }, 'config values.global.hubb: unknown key; did you mean hub?'],
    [
      'a --values file with global.proxy.resorces',
      { valuesFiles: [file('global:\n  proxy:\n    resorces:\n      limits: {cpu: 100m}\n')] },
      'config values.global.proxy.resorces: unknown key; did you mean resources?',
    ],
    [
      'a config file with values.global.proxyinit',
      { configFile: file('values:\n  global:\n    proxyinit:\n      image: proxyv2\n') },
      'config values.global.proxyinit: unknown key; did you mean proxy_init?',
    ],
    [
      'a config file with meshConfig.enablePrometheusMerg',
      { configFile: file('meshConfig:\n  enablePrometheusMerg: false\n') },
      'config meshConfig.enablePrometheusMerg: unknown key; did you mean enablePrometheusMerge?',
    ],
    [
      'a --mesh file with defaultConfig.holdApplicationUntilProxyStart',
      { meshFiles: [file('defaultConfig:\n  holdApplicationUntilProxyStart: true\n')] },
      'config meshConfig.defaultConfig.holdApplicationUntilProxyStart: unknown key; did you mean holdApplicationUntilProxyStarts?',
    ],
    [
      'a key inside a list of messages (meshConfig.extensionProviders[0])',
      { sets: ['meshConfig.extensionProviders=[{"name":"otel","opentelemtry":{"service":"x","port":4317}}]'] },
      'config meshConfig.extensionProviders[0].opentelemtry: unknown key; did you mean opentelemetry?',
    ],
  ])('%s is refused with the nearest known key', (_, opts, message) => {
    expect(loadError(opts)).toBe(message);
  });

  it('lists a few known keys when none is close', () => {
    expect(loadError({ sets: ['values.global.proxy_init.somethingElse=1'] })).toBe(
      'config values.global.proxy_init.somethingElse: unknown key; known keys here are image, resources, forceApplyIptables',
    );
    expect(loadError({ sets: ['values.nonsense=1'] })).toBe(
      'config values.nonsense: unknown key; known keys here are cni, gateways, global, pilot, ztunnel, telemetry, sidecarInjectorWebhook, istio_cni, ... (20 in all)',
    );
  });

  it('accepts any key below free-form fields (maps, Struct, Value, Kubernetes types)', () => {
    const cfg = loadConfig({
      sets: [
        'values.pilot.env.ANY_NAME=x',
        'values.global.proxy.lifecycle.postStart={"exec":{"command":["true"]}}',
        'values.pilot.podAnnotations.whatever=x',
        'values.global.proxy.seccompProfile.type=RuntimeDefault',
        'values.ztunnel.anything.at.all=1',
        'meshConfig.defaultConfig.proxyMetadata.ANY=x',
      ],
    });
    expect((cfg.values.ztunnel as { anything: unknown }).anything).toEqual({ at: { all: 1 } });
  });

  it('takes the fields of a oneof whose generated marker method spans two lines (LogFormat labels and text)', () => {
    // Kyma's IstioOperator writes extensionProviders with envoyFileAccessLog.logFormat.labels; Istio takes it.
    const cfg = loadConfig({
      meshFiles: [
        file(
          'extensionProviders:\n- name: stdout-json\n  envoyFileAccessLog:\n    path: /dev/stdout\n    logFormat:\n      labels: {method: "%REQ(:METHOD)%"}\n' +
            '- name: plain\n  envoyFileAccessLog:\n    logFormat:\n      text: "%RESPONSE_CODE%"\n',
        ),
      ],
    });
    expect((cfg.meshConfig.extensionProviders as unknown[]).length).toBe(2);
    expect(loadError({ sets: ['meshConfig.extensionProviders=[{"name":"x","envoyFileAccessLog":{"logFormat":{"labelz":{}}}}]'] })).toBe(
      'config meshConfig.extensionProviders[0].envoyFileAccessLog.logFormat.labelz: unknown key; did you mean labels?',
    );
  });

  it('takes a Helm values field by its proto JSON name too, as Istio reads an IstioOperator (gateways.istio-ingressgateway)', () => {
    const cfg = loadConfig({ valuesFiles: [file('gateways:\n  istio-ingressgateway:\n    autoscaleMin: 3\n  istio_egressgateway:\n    autoscaleMin: 1\n')] });
    expect(cfg.values.gateways).toMatchObject({ 'istio-ingressgateway': { autoscaleMin: 3 }, istio_egressgateway: { autoscaleMin: 1 } });
  });
});

describe('MeshConfig proto names', () => {
  it('are refused outside defaultConfig with the JSON name to write (the injector reads MeshConfig by JSON names)', () => {
    expect(loadError({ meshFiles: [file('default_config:\n  holdApplicationUntilProxyStarts: true\n')] })).toBe(
      'config meshConfig.default_config: write it as defaultConfig: mesh-webhook reads MeshConfig fields by their JSON names (Istio also accepts the proto name default_config)',
    );
    expect(loadError({ sets: ['meshConfig.enable_prometheus_merge=false'] })).toBe(
      'config meshConfig.enable_prometheus_merge: write it as enablePrometheusMerge: mesh-webhook reads MeshConfig fields by their JSON names (Istio also accepts the proto name enable_prometheus_merge)',
    );
  });

  it('are taken inside defaultConfig, which is parsed as ProxyConfig the way Istio parses it', () => {
    // The istio profile does not hold the application by default (kyma does), so the result shows the field applied.
    const loaded = loadConfigWithNotes({
      profile: 'istio',
      meshFiles: [file('accessLogFile: /dev/stdout\ndefaultConfig:\n  hold_application_until_proxy_starts: true\n')],
    });
    expect(loaded.notes).toEqual(['keys Istio knows but the injector does not read (they have no effect here): meshConfig.accessLogFile']);
    // Applied: a classic sidecar is held until the proxy is ready (istio-proxy first, with a postStart wait).
    const outcome = createInjector({ ...loaded.config, nativeSidecars: false }).inject({
      pod: { metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] } },
    });
    if (outcome.kind !== 'injected') throw new Error(`expected an injection, got ${outcome.kind}`);
    const first = outcome.pod.spec!.containers![0]!;
    expect(first.name).toBe('istio-proxy');
    expect(first.lifecycle?.postStart?.exec?.command).toEqual(['pilot-agent', 'wait']);
    const unheld = createInjector({ ...loadConfig({ profile: 'istio' }), nativeSidecars: false }).inject({
      pod: { metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] } },
    });
    if (unheld.kind !== 'injected') throw new Error(`expected an injection, got ${unheld.kind}`);
    expect(unheld.pod.spec!.containers!.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
  });

  it('are not taken in Helm values, which the template reads by their declared keys', () => {
    expect(loadError({ sets: ['values.global.proxy.log_level=debug'] })).toBe('config values.global.proxy.log_level: unknown key; did you mean logLevel?');
  });
});

describe('keys Istio knows but the injector does not read', () => {
  it('are accepted and noted once per load, outermost key first', () => {
    const loaded = loadConfigWithNotes({
      configFile: file('values:\n  pilot:\n    autoscaleEnabled: false\n  global:\n    hub: docker.io/istio\n    priorityClassName: high\n'),
      sets: ['values.global.proxy.autoInject=disabled', 'meshConfig.accessLogFile=/dev/stdout'],
    });
    expect(loaded.config.values.pilot).toMatchObject({ autoscaleEnabled: false });
    expect(loaded.notes).toEqual([
      'keys Istio knows but the injector does not read (they have no effect here): values.pilot.autoscaleEnabled, values.global.priorityClassName, values.global.proxy.autoInject, meshConfig.accessLogFile',
    ]);
  });

  it('are not noted for the profile defaults, nor for keys the injector reads', () => {
    expect(loadConfigWithNotes({ profile: 'istio' }).notes).toEqual([]);
    expect(loadConfigWithNotes({ sets: ['values.global.hub=docker.io/istio', 'meshConfig.enablePrometheusMerge=true'] }).notes).toEqual([]);
  });
});

describe('nearest key', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('resorces', 'resources')).toBe(1);
    expect(editDistance('hbu', 'hub')).toBe(1);
    expect(editDistance('proxyinit', 'proxy_init')).toBe(1);
  });

  it('suggests only a close key', () => {
    expect(nearestKey('hubb', ['hub', 'tag'])).toBe('hub');
    expect(nearestKey('xyz', ['hub', 'tag'])).toBeUndefined();
    expect(nearestKey('resourcesLimits', ['resources'])).toBeUndefined();
  });
});
