/**
 * A fixture cluster state for `outdated`, in the Kubernetes API test double: each workload kind with pods injected by
 * an older configuration (another proxy tag, other resources), plus pods that are up to date, use a custom proxy image,
 * set their resources by annotation, have no sidecar, or have finished.
 */
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import type { Pod } from '../../src/k8s/types.js';
import type { FakeApiServer, KubeObject } from '../k8s/fakeApiServer.js';

export const HUB = 'europe-docker.pkg.dev/kyma-project/prod/external/istio';
export const CURRENT_IMAGE = `${HUB}/proxyv2:1.30.2-distroless`;
export const OLD_IMAGE = `${HUB}/proxyv2:1.29.0-distroless`;
export const CUSTOM_IMAGE = `${HUB}/proxyv2:1.28.0-debug`;

const current = createInjector(loadConfig({}));
const oldTag = createInjector(loadConfig({ sets: ['values.global.tag=1.29.0-distroless'] }));
const oldResources = createInjector(
  loadConfig({ sets: ['values.global.proxy.resources={"requests":{"cpu":"10m","memory":"16Mi"},"limits":{"cpu":"100m","memory":"64Mi"}}'] }),
);
type Injector = typeof current;

let uidCounter = 0;
const uid = () => `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`;

function owner(apiVersion: string, kind: string, name: string) {
  return [{ apiVersion, kind, name, uid: uid(), controller: true, blockOwnerDeletion: true }];
}

/** A pod as the API server stores it after `injector` injected it (Running). */
function injectedPod(
  injector: Injector,
  namespace: string,
  name: string,
  ownerReferences: ReturnType<typeof owner> | undefined,
  annotations: Record<string, string> = {},
  phase = 'Running',
): KubeObject {
  const pod: Pod = {
    metadata: { name, namespace, labels: { app: name }, annotations, ...(ownerReferences ? { ownerReferences } : {}) },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 8080 }] }] },
  };
  const outcome = injector.inject({ pod, namespace });
  if (outcome.kind !== 'injected') throw new Error(`fixture pod ${namespace}/${name} was not injected: ${outcome.reason}`);
  return { ...(outcome.pod as KubeObject), status: { phase } };
}

const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });

/** Fill `api` with the fixture; returns the names tests refer to. */
export function loadFixture(api: FakeApiServer, options: { webRolloutInProgress?: boolean } = {}): void {
  for (const ns of ['shop', 'batch', 'other']) api.apply('namespaces', { metadata: { name: ns } });

  // Deployment → ReplicaSet → 2 pods with the old proxy image.
  api.apply('deployments', {
    metadata: { name: 'web', namespace: 'shop' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template('web') },
    status: { observedGeneration: options.webRolloutInProgress ? 0 : 1 },
  });
  api.apply('replicasets', { metadata: { name: 'web-5d8f7', namespace: 'shop', ownerReferences: owner('apps/v1', 'Deployment', 'web') }, spec: { template: template('web') } });
  for (const suffix of ['aaaaa', 'bbbbb']) api.apply('pods', injectedPod(oldTag, 'shop', `web-5d8f7-${suffix}`, owner('apps/v1', 'ReplicaSet', 'web-5d8f7')));

  // DaemonSet: current image, old resources.
  api.apply('daemonsets', { metadata: { name: 'agent', namespace: 'shop' }, spec: { template: template('agent') }, status: { observedGeneration: 1 } });
  api.apply('pods', injectedPod(oldResources, 'shop', 'agent-x1x1x', owner('apps/v1', 'DaemonSet', 'agent')));

  // StatefulSet: old image.
  api.apply('statefulsets', { metadata: { name: 'db', namespace: 'shop' }, spec: { template: template('db') } });
  api.apply('pods', injectedPod(oldTag, 'shop', 'db-0', owner('apps/v1', 'StatefulSet', 'db')));

  // A Job, and a CronJob's Job; a finished pod of the Job (left out).
  api.apply('jobs', { metadata: { name: 'once', namespace: 'batch' }, spec: { template: template('once') } });
  api.apply('pods', injectedPod(oldTag, 'batch', 'once-q7w8e', owner('batch/v1', 'Job', 'once')));
  api.apply('pods', injectedPod(oldTag, 'batch', 'once-done1', owner('batch/v1', 'Job', 'once'), {}, 'Succeeded'));
  api.apply('cronjobs', { metadata: { name: 'nightly', namespace: 'batch' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: template('nightly') } } } });
  api.apply('jobs', { metadata: { name: 'nightly-29000000', namespace: 'batch', ownerReferences: owner('batch/v1', 'CronJob', 'nightly') }, spec: { template: template('nightly') } });
  api.apply('pods', injectedPod(oldTag, 'batch', 'nightly-29000000-zx9c8', owner('batch/v1', 'Job', 'nightly-29000000')));

  // A bare pod.
  api.apply('pods', injectedPod(oldTag, 'shop', 'solo', undefined));

  // A custom proxy image (sidecar.istio.io/proxyImage): reported, never restarted.
  api.apply('deployments', { metadata: { name: 'custom', namespace: 'shop' }, spec: { template: template('custom') } });
  api.apply('replicasets', { metadata: { name: 'custom-7c9d', namespace: 'shop', ownerReferences: owner('apps/v1', 'Deployment', 'custom') }, spec: { template: template('custom') } });
  api.apply('pods', injectedPod(current, 'shop', 'custom-7c9d-ccccc', owner('apps/v1', 'ReplicaSet', 'custom-7c9d'), { 'sidecar.istio.io/proxyImage': CUSTOM_IMAGE }));

  // Up to date.
  api.apply('deployments', { metadata: { name: 'fresh', namespace: 'shop' }, spec: { template: template('fresh') } });
  api.apply('replicasets', { metadata: { name: 'fresh-6b7c', namespace: 'shop', ownerReferences: owner('apps/v1', 'Deployment', 'fresh') }, spec: { template: template('fresh') } });
  api.apply('pods', injectedPod(current, 'shop', 'fresh-6b7c-ddddd', owner('apps/v1', 'ReplicaSet', 'fresh-6b7c')));

  // Resources set by annotation (and then changed by hand): not compared, so up to date.
  const tuned = injectedPod(current, 'shop', 'tuned-0', owner('apps/v1', 'StatefulSet', 'tuned'), { 'sidecar.istio.io/proxyCPU': '50m' });
  const proxy = ((tuned.spec as { initContainers: { name: string; resources?: unknown }[] }).initContainers).find((c) => c.name === 'istio-proxy')!;
  proxy.resources = { requests: { cpu: '999m' } };
  api.apply('pods', tuned);

  // No sidecar at all: not checked.
  api.apply('pods', { metadata: { name: 'plain', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'nginx' }] }, status: { phase: 'Running' } });

  // Another namespace: only with -A (or -n other).
  api.apply('deployments', { metadata: { name: 'api', namespace: 'other' }, spec: { template: template('api') } });
  api.apply('replicasets', { metadata: { name: 'api-55f6', namespace: 'other', ownerReferences: owner('apps/v1', 'Deployment', 'api') }, spec: { template: template('api') } });
  api.apply('pods', injectedPod(oldTag, 'other', 'api-55f6-eeeee', owner('apps/v1', 'ReplicaSet', 'api-55f6')));
}
