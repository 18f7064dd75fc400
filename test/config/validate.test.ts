import { describe, expect, it } from 'vitest';
import { deepMerge } from '../../src/config/merge.js';
import { profileConfig } from '../../src/config/profiles.js';
import { ConfigError, type InjectorConfig } from '../../src/config/types.js';
import { validateConfig } from '../../src/config/validate.js';
import type { JsonObject } from '../../src/k8s/types.js';
import { isPlainObject } from '../../src/util/json.js';

/** The kyma profile with `patch` deep-merged over it (top-level keys replace, values/meshConfig merge). */
function withPatch(patch: Record<string, unknown>): Record<string, unknown> {
  const cfg: Record<string, unknown> = { ...profileConfig('kyma') };
  for (const [key, value] of Object.entries(patch)) {
    const merge = (key === 'values' || key === 'meshConfig') && isPlainObject(value);
    cfg[key] = merge ? deepMerge(cfg[key] as JsonObject, value) : value;
  }
  return cfg;
}

function errorOf(cfg: unknown): ConfigError {
  try {
    validateConfig(cfg);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected validateConfig to fail');
}

describe('validateConfig', () => {
  it('accepts both profiles unchanged', () => {
    const kyma: InjectorConfig = profileConfig('kyma');
    expect(validateConfig(kyma)).toBe(kyma);
    expect(() => validateConfig(profileConfig('istio'))).not.toThrow();
  });

  it('accepts the values the conformance cases set', () => {
    const cfg = withPatch({
      values: {
        global: {
          proxy: {
            statusPort: 0,
            readinessInitialDelaySeconds: 100,
            resources: { requests: { cpu: null, memory: '150Mi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '0', memory: null } },
          },
          imagePullSecrets: ['barSecret'],
        },
      },
      meshConfig: { defaultConfig: { interceptionMode: 'TPROXY', tracing: {} } },
      neverInjectSelector: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }, { key: 'b', operator: 'Exists' }] }],
      alwaysInjectSelector: [{ matchLabels: { inject: 'yes' } }],
      namespaceLabels: { prod: { env: 'prod' } },
    });
    expect(() => validateConfig(cfg)).not.toThrow();
  });

  it.each([1, 0.5, '1.5', '+1', '-2', '.5', '1e3', '1E-2', '100m', '128Mi', '2Gi', '1Ei', '3k', '1M', '7n', '2u'])(
    'accepts the quantity %s',
    (q) => {
      expect(() => validateConfig(withPatch({ values: { global: { proxy: { resources: { requests: { cpu: q }, limits: { cpu: q } } } } } }))).not.toThrow();
    },
  );

  it.each(['', 'abc', '1 Gi', '1GB', '1mi', '1.2.3', 'Mi', '--1', true, [1], {}])('rejects the quantity %j', (q) => {
    const err = errorOf(withPatch({ values: { global: { proxy_init: { resources: { requests: { memory: q } } } } } }));
    expect(err.path).toBe('values.global.proxy_init.resources.requests.memory');
    expect(err.message).toContain('Kubernetes quantity');
  });

  // [description, patch, path in the error, substring of the message]
  it.each<[string, Record<string, unknown>, string, string]>([
    ['unknown top-level key', { polcy: 'x' }, 'polcy', 'allowed top-level keys are profile, policy'],
    ['policy', { policy: 'on' }, 'policy', 'one of enabled, disabled; got "on"'],
    ['profile', { profile: 'openshift' }, 'profile', 'one of kyma, kyma-module, istio'],
    ['selector list', { neverInjectSelector: { matchLabels: {} } }, 'neverInjectSelector', 'a list of label selectors'],
    ['selector key', { alwaysInjectSelector: [{ matchLabel: {} }] }, 'alwaysInjectSelector[0].matchLabel', 'unknown key'],
    ['matchLabels value', { neverInjectSelector: [{ matchLabels: { a: 1 } }] }, 'neverInjectSelector[0].matchLabels.a', 'a string'],
    ['matchExpressions', { neverInjectSelector: [{ matchExpressions: {} }] }, 'neverInjectSelector[0].matchExpressions', 'a list'],
    ['operator', { neverInjectSelector: [{ matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] }] }, 'neverInjectSelector[0].matchExpressions[0].operator', 'In, NotIn, Exists, DoesNotExist'],
    ['key', { neverInjectSelector: [{ matchExpressions: [{ operator: 'Exists' }] }] }, 'neverInjectSelector[0].matchExpressions[0].key', 'non-empty label key'],
    ['In without values', { neverInjectSelector: [{ matchExpressions: [{ key: 'a', operator: 'In' }] }] }, 'neverInjectSelector[0].matchExpressions[0].values', 'non-empty list'],
    ['Exists with values', { neverInjectSelector: [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }] }, 'neverInjectSelector[0].matchExpressions[0].values', 'empty for operator Exists'],
    ['values entries', { neverInjectSelector: [{ matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] }] }, 'neverInjectSelector[0].matchExpressions[0].values[0]', 'a string'],
    ['injectedAnnotations', { injectedAnnotations: { a: true } }, 'injectedAnnotations.a', 'a string'],
    ['injectedAnnotations map', { injectedAnnotations: ['a'] }, 'injectedAnnotations', 'a map of string to string'],
    ['namespaceLabels', { namespaceLabels: { prod: { env: 1 } } }, 'namespaceLabels.prod.env', 'a string'],
    ['namespaceLabels map', { namespaceLabels: { prod: 'x' } }, 'namespaceLabels.prod', 'a map'],
    ['excludedNamespaces', { excludedNamespaces: 'kube-system' }, 'excludedNamespaces', 'a list of strings'],
    ['excludedNamespaces entry', { excludedNamespaces: ['a', 2] }, 'excludedNamespaces[1]', 'a string'],
    ['nativeSidecars', { nativeSidecars: 'true' }, 'nativeSidecars', 'true, false or "auto"; got "true"'],
    ['values', { values: [] }, 'values', 'a map of Helm values'],
    ['meshConfig', { meshConfig: 'x' }, 'meshConfig', 'a map of MeshConfig fields'],
    ['hub', { values: { global: { hub: ['x'] } } }, 'values.global.hub', 'a string'],
    ['tag as number', { values: { global: { tag: 1.3 } } }, 'values.global.tag', 'must be a string: write it in quotes exactly as meant (e.g. "1.30", not 1.30); got number 1.3'],
    ['proxy image', { values: { global: { proxy: { image: 5 } } } }, 'values.global.proxy.image', 'a string'],
    ['proxy_init image', { values: { global: { proxy_init: { image: false } } } }, 'values.global.proxy_init.image', 'a string'],
    ['global', { values: { global: 'x' } }, 'values.global', 'a map'],
    ['statusPort range', { values: { global: { proxy: { statusPort: 70000 } } } }, 'values.global.proxy.statusPort', 'an integer port 0..65535; got number 70000'],
    ['statusPort string', { values: { global: { proxy: { statusPort: '15020' } } } }, 'values.global.proxy.statusPort', 'got "15020"'],
    ['readinessPeriodSeconds', { values: { global: { proxy: { readinessPeriodSeconds: -1 } } } }, 'values.global.proxy.readinessPeriodSeconds', 'an integer >= 0'],
    ['readinessInitialDelaySeconds', { values: { global: { proxy: { readinessInitialDelaySeconds: 1.5 } } } }, 'values.global.proxy.readinessInitialDelaySeconds', 'an integer >= 0'],
    ['readinessFailureThreshold', { values: { global: { proxy: { readinessFailureThreshold: '3' } } } }, 'values.global.proxy.readinessFailureThreshold', 'an integer >= 0'],
    ['resources', { values: { global: { proxy: { resources: 'big' } } } }, 'values.global.proxy.resources', 'requests and/or limits'],
    ['resources key', { values: { global: { proxy: { resources: { request: {} } } } } }, 'values.global.proxy.resources.request', 'unknown key; did you mean requests?'],
    ['resources section', { values: { global: { proxy: { resources: { limits: ['1'] } } } } }, 'values.global.proxy.resources.limits', 'resource name'],
    ['interceptionMode', { meshConfig: { defaultConfig: { interceptionMode: 'redirect' } } }, 'meshConfig.defaultConfig.interceptionMode', 'REDIRECT, TPROXY, NONE'],
    ['mesh statusPort', { meshConfig: { defaultConfig: { statusPort: 'x' } } }, 'meshConfig.defaultConfig.statusPort', 'an integer port'],
    ['defaultConfig', { meshConfig: { defaultConfig: [] } }, 'meshConfig.defaultConfig', 'a map'],
    ['enablePrometheusMerge', { meshConfig: { enablePrometheusMerge: 'false' } }, 'meshConfig.enablePrometheusMerge', 'true or false'],
  ])('%s', (_name, patch, path, message) => {
    const err = errorOf(withPatch(patch));
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).toContain(message);
  });

  it('rejects a missing key and a non-map', () => {
    const { policy: _dropped, ...rest } = profileConfig('kyma');
    expect(errorOf(rest).path).toBe('policy');
    expect(errorOf(null).message).toContain('must be a map');
  });
});
