// Generates the AdmissionReview bodies of the benchmark into bench/fixtures/ (committed; deterministic output, so a
// re-run gives the same files). Pods look like what the API server sends a mutating webhook on CREATE: defaulted
// fields (imagePullPolicy, terminationMessagePath, ...), the kube-api-access projected volume and the default
// tolerations the built-in admission plugins add before webhooks run.
//
//   ./node_modules/.bin/node bench/gen-fixtures.mjs
import { mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';

const dir = new URL('./fixtures/', import.meta.url);

/** Deterministic hex strings (uids, hashes): a tiny LCG, so fixtures do not change between runs. */
let seed = 42;
function hex(n) {
  let s = '';
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    s += ((seed >>> 16) & 15).toString(16);
  }
  return s;
}
const uid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;

function review(object, { namespace, kind = { group: '', version: 'v1', kind: 'Pod' }, resource = { group: '', version: 'v1', resource: 'pods' }, name } = {}) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: uid(),
      kind,
      resource,
      requestKind: kind,
      requestResource: resource,
      ...(name ? { name } : {}),
      namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: uid(),
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

const defaultTolerations = () => [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

const apiAccessVolume = (suffix) => ({
  name: `kube-api-access-${suffix}`,
  projected: {
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
    defaultMode: 420,
  },
});
const apiAccessMount = (suffix) => ({ name: `kube-api-access-${suffix}`, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' });

const podSpecDefaults = () => ({
  restartPolicy: 'Always',
  terminationGracePeriodSeconds: 30,
  dnsPolicy: 'ClusterFirst',
  securityContext: {},
  schedulerName: 'default-scheduler',
  tolerations: defaultTolerations(),
  priority: 0,
  enableServiceLinks: true,
  preemptionPolicy: 'PreemptLowerPriority',
});

const containerDefaults = () => ({
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
  imagePullPolicy: 'IfNotPresent',
});

/** A typical application container: ports, HTTP probes, resources, `envCount` env vars (some from fields/secrets). */
function appContainer(name, { envCount = 8, apiSuffix, extraMounts = [], port = 8080 } = {}) {
  const env = [];
  for (let i = 0; i < envCount; i++) {
    if (i % 7 === 3) env.push({ name: `POD_FIELD_${i}`, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: i % 2 ? 'metadata.name' : 'status.podIP' } } });
    else if (i % 7 === 5) env.push({ name: `SECRET_VALUE_${i}`, valueFrom: { secretKeyRef: { name: `${name}-secrets`, key: `key-${i}` } } });
    else env.push({ name: `APP_SETTING_${String(i).padStart(4, '0')}`, value: `value-${i}-${hex(12)}` });
  }
  return {
    name,
    image: `registry.example.com/team/${name}:1.${envCount % 10}.3`,
    ports: [
      { name: 'http', containerPort: port, protocol: 'TCP' },
      { name: 'metrics', containerPort: port + 1, protocol: 'TCP' },
    ],
    env,
    resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
    volumeMounts: [...extraMounts, ...(apiSuffix ? [apiAccessMount(apiSuffix)] : [])],
    livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 10, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/ready', port, scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 },
    ...containerDefaults(),
    securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ['ALL'] } },
  };
}

/** The server-side-apply field set of an object (managedFields[].fieldsV1), as the API server records it. */
function fieldsV1(value) {
  if (Array.isArray(value)) {
    const out = {};
    for (const item of value) {
      if (item && typeof item === 'object' && typeof item.name === 'string') out[`k:${JSON.stringify({ name: item.name })}`] = { '.': {}, ...fieldsV1(item) };
      else if (item && typeof item === 'object' && 'containerPort' in item) out[`k:${JSON.stringify({ containerPort: item.containerPort, protocol: item.protocol })}`] = { '.': {}, ...fieldsV1(item) };
      else out[`v:${JSON.stringify(item)}`] = {};
    }
    return out;
  }
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[`f:${k}`] = v && typeof v === 'object' && !Array.isArray(v) ? { '.': {}, ...fieldsV1(v) } : fieldsV1(v);
    return out;
  }
  return {};
}

/** managedFields of a pod the ReplicaSet controller created (fields of metadata and spec). */
function withManagedFields(pod) {
  const { uid: _uid, creationTimestamp: _ts, managedFields: _mf, ...meta } = pod.metadata;
  pod.metadata.managedFields = [
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-20T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: fieldsV1({ metadata: meta, spec: pod.spec }) },
  ];
  return pod;
}

/** metadata of a pod created by a Deployment's ReplicaSet. */
function replicaSetPodMeta(app, namespace, extraLabels = {}, annotations = undefined) {
  const hash = hex(10).replace(/[0-3]/g, 'b');
  return {
    generateName: `${app}-${hash}-`,
    namespace,
    uid: uid(),
    creationTimestamp: null,
    labels: { app, version: 'v1', 'app.kubernetes.io/name': app, 'app.kubernetes.io/version': '1.4.2', 'pod-template-hash': hash, ...extraLabels },
    ...(annotations ? { annotations } : {}),
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${hash}`, uid: uid(), controller: true, blockOwnerDeletion: true }],
  };
}

/** ~2 KB body: a bare pod with one container. */
function small(namespace = 'default') {
  return review(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace, labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            resources: { requests: { cpu: '50m', memory: '64Mi' } },
            volumeMounts: [apiAccessMount('x7k2p')],
            ...containerDefaults(),
          },
        ],
        volumes: [apiAccessVolume('x7k2p')],
        serviceAccountName: 'default',
        ...podSpecDefaults(),
      },
      status: {},
    },
    { namespace },
  );
}

/** ~10 KB body: a Deployment's pod (generateName, ReplicaSet owner, pod-template-hash), 2 containers, ~15 env, probes, volumes. */
function medium() {
  const ns = 'shop';
  const suffix = 'q8zfw';
  const mounts = [
    { name: 'config', mountPath: '/etc/orders', readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  return review(
    withManagedFields({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: replicaSetPodMeta('orders', ns, { tier: 'backend' }, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8081', 'kubectl.kubernetes.io/restartedAt': '2026-11-20T09:58:12Z' }),
      spec: {
        volumes: [
          { name: 'config', configMap: { name: 'orders-config', defaultMode: 420 } },
          { name: 'tls', secret: { secretName: 'orders-tls', defaultMode: 420 } },
          { name: 'tmp', emptyDir: {} },
          apiAccessVolume(suffix),
        ],
        containers: [
          appContainer('orders', { envCount: 11, apiSuffix: suffix, extraMounts: mounts }),
          {
            ...appContainer('cache-sync', { envCount: 4, apiSuffix: suffix, extraMounts: [{ name: 'tls', mountPath: '/etc/tls', readOnly: true }], port: 9090 }),
            args: ['--interval=30s', '--upstream=http://orders.shop.svc.cluster.local:8080'],
          },
        ],
        serviceAccountName: 'orders',
        serviceAccount: 'orders',
        ...podSpecDefaults(),
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'orders' } }, topologyKey: 'kubernetes.io/hostname' } }],
          },
        },
      },
      status: {},
    }),
    { namespace: ns },
  );
}

/** ~100 KB body: a Deployment's pod with 10 containers. */
function large() {
  const ns = 'analytics';
  const suffix = 'm2d9c';
  const containers = [];
  const volumes = [apiAccessVolume(suffix)];
  for (let i = 0; i < 10; i++) {
    volumes.push({ name: `data-${i}`, configMap: { name: `pipeline-stage-${i}`, defaultMode: 420 } });
    const c = appContainer(`stage-${i}`, { envCount: 45, apiSuffix: suffix, extraMounts: [{ name: `data-${i}`, mountPath: `/etc/stage-${i}`, readOnly: true }], port: 8000 + 10 * i });
    c.args = ['--mode=stream', `--stage=${i}`, '--buffer=64Mi', '--log-format=json'];
    containers.push(c);
  }
  return review(
    withManagedFields({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: replicaSetPodMeta('pipeline', ns, { tier: 'batch' }),
      spec: { volumes, containers, serviceAccountName: 'pipeline', serviceAccount: 'pipeline', ...podSpecDefaults() },
      status: {},
    }),
    { namespace: ns },
  );
}

/** One container with `envCount` env vars (Istio's own injection benchmark uses 2,000). */
function manyEnv(envCount) {
  const ns = 'legacy';
  const suffix = 'h4t6n';
  const env = [];
  for (let i = 0; i < envCount; i++) env.push({ name: `LEGACY_SETTING_${String(i).padStart(4, '0')}`, value: `value-${i}` });
  return review(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: replicaSetPodMeta('monolith', ns),
      spec: {
        volumes: [apiAccessVolume(suffix)],
        containers: [{ ...appContainer('monolith', { envCount: 0, apiSuffix: suffix }), env }],
        serviceAccountName: 'default',
        ...podSpecDefaults(),
      },
      status: {},
    },
    { namespace: ns },
  );
}

/** `count` containers like medium's, 8 env vars each. */
function manyContainers(count) {
  const ns = 'shop';
  const suffix = 'c5v8r';
  const containers = [];
  for (let i = 0; i < count; i++) containers.push(appContainer(`app-${i}`, { envCount: 8, apiSuffix: suffix, port: 8000 + 10 * i }));
  return review(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: replicaSetPodMeta('multi', ns),
      spec: { volumes: [apiAccessVolume(suffix)], containers, serviceAccountName: 'default', ...podSpecDefaults() },
      status: {},
    },
    { namespace: ns },
  );
}

/** A Deployment CREATE for /validate with findings: a misspelt Istio annotation, the deprecated inject annotation,
 * UID 1337, a port the proxy reserves, a UDP port, an exec probe. */
function validateDeployment() {
  const ns = 'shop';
  const pod = medium().request.object;
  const [first, second] = pod.spec.containers;
  const template = {
    metadata: {
      labels: { app: 'orders', version: 'v1' },
      annotations: { 'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/proxyCPUu': '100m', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      ...pod.spec,
      containers: [
        { ...first, securityContext: { ...first.securityContext, runAsUser: 1337 }, ports: [...first.ports, { name: 'admin', containerPort: 15090, protocol: 'TCP' }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] },
        { ...second, livenessProbe: { exec: { command: ['sh', '-c', 'curl -sf http://orders.shop.svc:8080/healthz'] }, periodSeconds: 10 } },
      ],
    },
  };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'orders', namespace: ns, labels: { app: 'orders' }, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: { replicas: 3, selector: { matchLabels: { app: 'orders' } }, template, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } }, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 },
  };
  return review(deployment, {
    namespace: ns,
    name: 'orders',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
  });
}

const fixtures = {
  small: small(),
  medium: medium(),
  large: large(),
  huge: manyEnv(2000),
  skip: small('kube-system'),
  validate: validateDeployment(),
  'containers-1': manyContainers(1),
  'containers-2': manyContainers(2),
  'containers-5': manyContainers(5),
  'containers-10': manyContainers(10),
  'containers-20': manyContainers(20),
  'env-10': manyEnv(10),
  'env-100': manyEnv(100),
  'env-1000': manyEnv(1000),
  'env-2000': manyEnv(2000),
};

mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(new URL(f, dir));
for (const [name, body] of Object.entries(fixtures)) {
  // Compact JSON, as the API server sends it.
  const text = JSON.stringify(body);
  writeFileSync(new URL(`${name}.json`, dir), text);
  console.log(`${name.padEnd(14)} ${(text.length / 1024).toFixed(1).padStart(7)} KB`);
}
