/** Cases for the userVolume/userVolumeMount tests (webhook: test/inject/userVolumes.test.ts, CLI: test/cli/fidelity.test.ts). */
import { expect } from 'vitest';
import type { Pod } from '../../src/k8s/types.js';
import { container } from './review.js';

export const VOLUME = 'sidecar.istio.io/userVolume';
export const MOUNT = 'sidecar.istio.io/userVolumeMount';

export interface Case {
  name: string;
  annotations: Record<string, string>;
  /** The pod's last volumes (the user volumes come last) and the proxy's last mounts. */
  volumes: unknown[];
  mounts: unknown[];
}

export const ACCEPTED: Case[] = [
  {
    name: 'lists of named volumes and mounts, in list order',
    annotations: {
      [VOLUME]: '[{"name":"certs","secret":{"secretName":"extra"}},{"name":"cache","emptyDir":{}}]',
      [MOUNT]: '[{"name":"certs","mountPath":"/etc/extra","readOnly":true},{"name":"cache","mountPath":"/cache"}]',
    },
    volumes: [
      { name: 'certs', secret: { secretName: 'extra' } },
      { name: 'cache', emptyDir: {} },
    ],
    mounts: [
      { name: 'certs', mountPath: '/etc/extra', readOnly: true },
      { name: 'cache', mountPath: '/cache' },
    ],
  },
  {
    name: 'list items without a name are named by their index',
    annotations: { [VOLUME]: '[{"emptyDir":{}},{"configMap":{"name":"cm"}}]', [MOUNT]: '[{"mountPath":"/a"},{"mountPath":"/b"}]' },
    volumes: [
      { name: '0', emptyDir: {} },
      { name: '1', configMap: { name: 'cm' } },
    ],
    mounts: [
      { name: '0', mountPath: '/a' },
      { name: '1', mountPath: '/b' },
    ],
  },
  {
    name: "a map entry's own name wins over its key; keys in sorted order",
    annotations: { [VOLUME]: '{"z":{"emptyDir":{}},"a":{"name":"own","emptyDir":{}}}', [MOUNT]: '{"z":{"mountPath":"/z"},"a":{"name":"own","mountPath":"/own"}}' },
    volumes: [
      { name: 'own', emptyDir: {} },
      { name: 'z', emptyDir: {} },
    ],
    mounts: [
      { name: 'own', mountPath: '/own' },
      { name: 'z', mountPath: '/z' },
    ],
  },
];

/** JSON null: Istio's `range` over nil adds nothing, and the pod is injected. */
export const NULL_VALUES = { [VOLUME]: 'null', [MOUNT]: 'null' };

export const REFUSED: [string, Record<string, string>, string][] = [
  ['a list item that is not an object', { [VOLUME]: '["x"]' }, `invalid value '["x"]' for annotation 'sidecar.istio.io/userVolume': item 0 must be a JSON object`],
  ['a name that is not a string', { [MOUNT]: '[{"name":5,"mountPath":"/x"}]' }, `invalid value '[{"name":5,"mountPath":"/x"}]' for annotation 'sidecar.istio.io/userVolumeMount': item 0: name must be a string`],
  ['a JSON string', { [VOLUME]: '"v"' }, `invalid value '"v"' for annotation 'sidecar.istio.io/userVolume': must be a JSON object (name → definition) or a list of definitions`],
];

export function check(pod: Pod, c: Case): void {
  const volumes = pod.spec?.volumes ?? [];
  expect(volumes.slice(-c.volumes.length)).toEqual(c.volumes);
  const mounts = container(pod, 'istio-proxy')?.volumeMounts ?? [];
  expect(mounts.slice(-c.mounts.length)).toEqual(c.mounts);
}

/** kyma forbids hostPath: a list hides it no better than a map. */
export const HOST_PATH_LIST = { [VOLUME]: '[{"name":"ok","emptyDir":{}},{"name":"host","hostPath":{"path":"/"}}]' };
export const HOST_PATH_MESSAGE = `invalid value '${HOST_PATH_LIST[VOLUME]}' for annotation 'sidecar.istio.io/userVolume': volume 'host' uses hostPath, which the operator does not allow (safety.forbiddenUserVolumeTypes)`;
