/** istio-proxy's and istio-init's image references, checked at load: config file, --values and --set. */
import { describe, expect, it } from 'vitest';
import { isImageReference } from '../../src/config/imageReference.js';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import { loadError, yamlFiles } from './helpers.js';

const file = yamlFiles('images');

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('image references refused at load', () => {
  it.each<[string, LoadConfigOptions, string]>([
    [
      '--set values.global.hub= (empty hub)',
      { sets: ['values.global.hub='] },
      'config values.global.hub: must be a registry and repository path such as docker.io/istio or registry.example:5000/istio (path components of letters and digits joined by . _ or -, separated by /); got ""',
    ],
    [
      'a hub ending in /',
      { configFile: file('values:\n  global:\n    hub: docker.io/istio/\n') },
      'config values.global.hub: must be a registry and repository path such as docker.io/istio or registry.example:5000/istio (path components of letters and digits joined by . _ or -, separated by /); got "docker.io/istio/"',
    ],
    [
      "values.global.proxy.image='bad image!!'",
      { sets: ['values.global.proxy.image=bad image!!'] },
      'config values.global.proxy.image: must be an image name such as proxyv2 (letters and digits joined by . _ or -), or a whole reference containing a /; got "bad image!!"',
    ],
    [
      'a whole proxy_init reference with a bad tag (--values file)',
      { valuesFiles: [file('global:\n  proxy_init:\n    image: docker.io/istio/proxyv2:-bad\n')] },
      'config values.global.proxy_init.image: must be a whole image reference [registry[:port]/]path[:tag][@sha256:<64 hex digits>], e.g. docker.io/istio/proxyv2:1.30.2; got "docker.io/istio/proxyv2:-bad"',
    ],
    [
      'a tag with a space',
      { sets: ['values.global.tag=1.30 beta'] },
      'config values.global.tag: must be a tag of letters, digits, _ . and - (starting with a letter, digit or _; at most 128 characters), e.g. 1.30.2-distroless; got "1.30 beta"',
    ],
    [
      'an empty tag',
      { sets: ['values.global.tag='] },
      'config values.global.tag: must be a tag of letters, digits, _ . and - (starting with a letter, digit or _; at most 128 characters), e.g. 1.30.2-distroless; got ""',
    ],
    [
      'a tag of 129 characters',
      { sets: [`values.global.tag=${'a'.repeat(129)}`] },
      `config values.global.tag: must be a tag of letters, digits, _ . and - (starting with a letter, digit or _; at most 128 characters), e.g. 1.30.2-distroless; got "${'a'.repeat(129)}"`,
    ],
    [
      'a variant that makes the tag malformed',
      { sets: ['values.global.variant=dis troless'] },
      'config values.global.variant: "dis troless" makes the tag "1.30.2-dis troless", which is not a tag of letters, digits, _ . and - (starting with a letter, digit or _; at most 128 characters), e.g. 1.30.2-distroless',
    ],
    [
      'a short digest',
      { sets: ['values.global.proxy.image=docker.io/istio/proxyv2@sha256:abc'] },
      'config values.global.proxy.image: must be a whole image reference [registry[:port]/]path[:tag][@sha256:<64 hex digits>], e.g. docker.io/istio/proxyv2:1.30.2; got "docker.io/istio/proxyv2@sha256:abc"',
    ],
  ])('%s', (_, opts, message) => {
    expect(loadError(opts)).toBe(message);
  });
});

describe('image references accepted', () => {
  function proxyImage(opts: LoadConfigOptions): string | undefined {
    const injector = createInjector(loadConfig(opts));
    const outcome = injector.inject({
      pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    });
    if (outcome.kind !== 'injected') throw new Error(`not injected: ${outcome.reason}`);
    const containers = [...(outcome.pod.spec?.initContainers ?? []), ...(outcome.pod.spec?.containers ?? [])];
    return containers.find((c) => c.name === 'istio-proxy')?.image;
  }

  it.each<[string, LoadConfigOptions, string]>([
    ['a registry with a port', { sets: ['values.global.hub=registry.example:5000/istio'] }, 'registry.example:5000/istio/proxyv2:1.30.2-distroless'],
    ['a bare registry host with a port as hub', { sets: ['values.global.hub=localhost:5000'] }, 'localhost:5000/proxyv2:1.30.2-distroless'],
    ['the tag 1.30 written with --set', { sets: ['values.global.tag=1.30'] }, 'europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30'],
    ['a whole reference with a digest', { sets: [`values.global.proxy.image=docker.io/istio/proxyv2@${DIGEST}`] }, `docker.io/istio/proxyv2@${DIGEST}`],
    [
      'a whole reference with a port, tag and digest',
      { sets: [`values.global.proxy.image=registry.example:5000/istio/proxyv2:1.30.2@${DIGEST}`] },
      `registry.example:5000/istio/proxyv2:1.30.2@${DIGEST}`,
    ],
  ])('%s', (_, opts, image) => {
    expect(proxyImage(opts)).toBe(image);
  });

  it('follows the reference grammar', () => {
    expect(isImageReference('docker.io/istio/proxyv2:1.30.2')).toBe(true);
    expect(isImageReference('[::1]:5000/istio/proxyv2')).toBe(true);
    expect(isImageReference('istio/proxy__v2')).toBe(true);
    expect(isImageReference('/proxyv2:1.30.2')).toBe(false);
    expect(isImageReference('istio//proxyv2')).toBe(false);
    expect(isImageReference('istio/proxyv2:')).toBe(false);
    expect(isImageReference(`istio/proxyv2@sha256:${'A'.repeat(64)}`)).toBe(false);
    expect(isImageReference(`${'a'.repeat(256)}/x`)).toBe(false);
  });
});
