/**
 * Pods injected by istiod, as a cluster stores them: made from Istio's golden files (test/fixtures/istio/testdata,
 * istiod's output for a Deployment's pod template) into the pod the Deployment's ReplicaSet creates, with what the API
 * server gives every created pod. For `outdated --diff` tests.
 *
 * The API server's defaults are written out here from Kubernetes' pkg/apis/core/v1/defaults.go (and its generated
 * defaulters), on purpose not with src/k8s/defaults.ts, which the comparison under test applies to its own side.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { FakeApiServer, KubeObject } from '../k8s/fakeApiServer.js';

const TESTDATA = path.join(import.meta.dirname, '..', 'fixtures', 'istio', 'testdata');

type Obj = Record<string, any>;

/** The first document of a testdata file. */
export function readTestdata(file: string): Obj {
  return parseAllDocuments(readFileSync(path.join(TESTDATA, file), 'utf8'))[0]!.toJSON() as Obj;
}

const TOKEN_VOLUME = 'kube-api-access-x7k2p';
const TOKEN_MOUNT = { mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: TOKEN_VOLUME, readOnly: true };

function defaultedProbe(p: Obj | undefined): Obj | undefined {
  if (!p) return p;
  const out: Obj = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, ...p };
  if (p.httpGet) out.httpGet = { path: '/', scheme: 'HTTP', ...p.httpGet };
  return out;
}

/** A container as the API server stores it (with the service account token mount the ServiceAccount admission adds). */
function storedContainer(c: Obj): Obj {
  const image: string = c.image ?? '';
  const tagged = /:[^/:]+$/.test(image.split('@')[0]!);
  const out: Obj = {
    ...c,
    imagePullPolicy: c.imagePullPolicy ?? (image.endsWith(':latest') || (!tagged && !image.includes('@')) ? 'Always' : 'IfNotPresent'),
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    resources: c.resources ?? {},
    volumeMounts: [...(c.volumeMounts ?? []).filter((m: Obj) => m.name !== TOKEN_VOLUME), TOKEN_MOUNT],
  };
  if (c.resources?.limits) out.resources = { ...c.resources, requests: { ...c.resources.limits, ...c.resources.requests } };
  if (c.ports) out.ports = c.ports.map((p: Obj) => ({ protocol: 'TCP', ...p }));
  if (c.env) {
    out.env = c.env.map((e: Obj) =>
      e.valueFrom?.fieldRef ? { ...e, valueFrom: { fieldRef: { apiVersion: 'v1', ...e.valueFrom.fieldRef } } } : e,
    );
  }
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) if (c[probe]) out[probe] = defaultedProbe(c[probe]);
  return out;
}

/** A volume as the API server stores it. */
function storedVolume(v: Obj): Obj {
  if (Object.keys(v).length === 1) return { ...v, emptyDir: {} };
  const out: Obj = { ...v };
  if (v.configMap) out.configMap = { defaultMode: 420, ...v.configMap };
  if (v.secret) out.secret = { defaultMode: 420, ...v.secret };
  if (v.downwardAPI) {
    out.downwardAPI = {
      defaultMode: 420,
      ...v.downwardAPI,
      items: v.downwardAPI.items.map((i: Obj) => ({ ...i, fieldRef: { apiVersion: 'v1', ...i.fieldRef } })),
    };
  }
  if (v.projected) out.projected = { defaultMode: 420, ...v.projected };
  return out;
}

/** The volume the ServiceAccount admission adds to every pod (not the injector's). */
const TOKEN_PROJECTION = {
  name: TOKEN_VOLUME,
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  },
};

/**
 * istiod ran after the API server had defaulted the pod (mutating admission sees the defaulted object); Istio's golden
 * files come from kube-inject, which injects the manifest as written. So what istiod copied from the app containers
 * carries their defaults: the ports in ISTIO_META_POD_PORTS have `protocol: TCP`, the probes and hooks it kept in
 * ISTIO_KUBE_APP_PROBERS have an HTTP action's path `/` and scheme HTTP, and a probe its timeout (1 s unless set; the
 * rewritten probe in the golden keeps the original's).
 */
function asIstiodSawThem(env: Obj[], appContainers: Obj[]): Obj[] {
  const timeoutOf = (url: string): number => {
    const m = /^\/app-health\/(.+)\/(readyz|livez|startupz)$/.exec(url);
    const field = { readyz: 'readinessProbe', livez: 'livenessProbe', startupz: 'startupProbe' }[m?.[2] ?? ''] ?? '';
    return appContainers.find((c) => c.name === m?.[1])?.[field]?.timeoutSeconds ?? 1;
  };
  return env.map((e) => {
    if (e.name === 'ISTIO_META_POD_PORTS') {
      const ports = (JSON.parse(e.value) as Obj[]).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' }));
      return { ...e, value: `[\n    ${ports.map((p) => JSON.stringify(p)).join(',\n    ')}\n]` };
    }
    if (e.name === 'ISTIO_KUBE_APP_PROBERS') {
      const probers = JSON.parse(e.value) as Record<string, Obj>;
      for (const [url, prober] of Object.entries(probers)) {
        if (prober.httpGet) prober.httpGet = { path: '/', scheme: 'HTTP', ...prober.httpGet };
        if (url.startsWith('/app-health/')) prober.timeoutSeconds = timeoutOf(url);
      }
      return { ...e, value: JSON.stringify(probers) };
    }
    return e;
  });
}

export interface IstiodPodOptions {
  namespace: string;
  /** The Deployment's ReplicaSet hash (`hello-5d8f7`). */
  hash?: string;
  /** Changes to the stored pod (an extra env var istiod set, ...). */
  edit?: (pod: Obj) => void;
}

/**
 * A pod as the cluster stores it once created and running: the API server's defaults on its containers and volumes,
 * the service account token volume and mounts, the pod-level defaults and a node, status Running with every
 * condition True.
 */
export function storedPod(pod: Obj): KubeObject {
  const spec = pod.spec as Obj;
  const stored = (list: Obj[] | undefined) => list?.map(storedContainer);
  return {
    ...pod,
    spec: {
      ...spec,
      containers: stored(spec.containers),
      ...(spec.initContainers ? { initContainers: stored(spec.initContainers) } : {}),
      volumes: [...(spec.volumes ?? []).filter((v: Obj) => v.name !== TOKEN_VOLUME).map(storedVolume), TOKEN_PROJECTION],
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: 'node-1',
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      tolerations: [
        { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
        { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '10.0.0.7',
      hostIP: '192.168.0.3',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True' })),
    },
  } as unknown as KubeObject;
}

/** The pod a Deployment's ReplicaSet creates from `template` (generateName, pod-template-hash, the controller reference). */
export function replicaSetPod(deployment: string, template: Obj, options: { namespace: string; hash?: string }): Obj {
  const hash = options.hash ?? '5d8f7';
  const rs = `${deployment}-${hash}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${rs}-abcde`,
      generateName: `${rs}-`,
      namespace: options.namespace,
      labels: { ...template.metadata?.labels, 'pod-template-hash': hash },
      annotations: { ...template.metadata?.annotations },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: '00000000-0000-4000-8000-00000000a001', controller: true, blockOwnerDeletion: true }],
    },
    spec: template.spec,
  };
}

/**
 * The pod of the Deployment of the golden `file` as the cluster stores it after istiod injected it, running and
 * ready: its ReplicaSet's pod ({@link replicaSetPod}) as {@link storedPod}, with what istiod copied from the defaulted
 * app containers ({@link asIstiodSawThem}).
 */
export function istiodPod(file: string, options: IstiodPodOptions): KubeObject {
  const deployment = readTestdata(file);
  const template = deployment.spec.template as Obj;
  const spec = template.spec as Obj;
  const seen = (list: Obj[] | undefined) => list?.map((c) => (c.name === 'istio-proxy' && c.env ? { ...c, env: asIstiodSawThem(c.env, spec.containers) } : c));
  const pod = replicaSetPod(deployment.metadata.name as string, {
    ...template,
    spec: { ...spec, containers: seen(spec.containers), ...(spec.initContainers ? { initContainers: seen(spec.initContainers) } : {}) },
  }, options);
  const stored = storedPod(pod);
  options.edit?.(stored);
  return stored;
}

/**
 * A Deployment of `input` (a testdata file: the workload as written, no injection) in `api` as a cluster holds it:
 * the Deployment, its ReplicaSet with the pod template as written, and `pod`, one of its running pods.
 */
export function applyWorkload(api: FakeApiServer, input: string, pod: KubeObject, options: { namespace: string; hash?: string }): KubeObject {
  const written = readTestdata(input);
  const name = written.metadata.name as string;
  const hash = options.hash ?? '5d8f7';
  const template = { ...written.spec.template, metadata: { ...written.spec.template.metadata, labels: { ...written.spec.template.metadata.labels, 'pod-template-hash': hash } } };
  api.apply('namespaces', { metadata: { name: options.namespace } });
  api.apply('deployments', { metadata: { name, namespace: options.namespace }, spec: { ...written.spec, template: written.spec.template }, status: { observedGeneration: 1 } });
  api.apply('replicasets', {
    metadata: { name: `${name}-${hash}`, namespace: options.namespace, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: '00000000-0000-4000-8000-00000000d001', controller: true }] },
    spec: { replicas: 1, template },
  });
  return api.apply('pods', pod);
}

/** {@link applyWorkload} with the pod istiod injected according to the golden `file` ({@link istiodPod}). */
export function applyIstiodWorkload(api: FakeApiServer, file: string, input: string, options: IstiodPodOptions): KubeObject {
  return applyWorkload(api, input, istiodPod(file, options), options);
}
