/**
 * One violating and one clean object per rule of RULES. The violating object produces the rule's finding (and
 * nothing else of severity error unless the rule is an error itself); the clean object differs only in what the rule
 * is about and produces no finding at all. rules.test.ts sends each through /validate and through the CLI.
 */
import type { Obj } from './helpers.js';

export const NS = 'shop';

export interface RuleExample {
  /** What the violating object does wrong. */
  what: string;
  violating: Obj;
  clean: Obj;
  /** Where the finding points (`path` of the finding), checked in both channels. */
  path: string;
}

export function pod(name: string, spec: Obj = {}, meta: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: name }, ...meta },
    spec: {
      containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 8080 }] }],
      ...spec,
    },
  };
}

export function deployment(name: string, podSpec: Obj = {}, templateMeta: Obj = {}, meta: Obj = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, ...meta },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...templateMeta },
        spec: {
          containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 8080 }] }],
          ...podSpec,
        },
      },
    },
  };
}

export function job(name: string, templateMeta: Obj = {}): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NS },
    spec: {
      backoffLimit: 1,
      template: {
        metadata: { labels: { app: name }, ...templateMeta },
        spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: 'example.com/task:1', command: ['/task'] }] },
      },
    },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export function service(name: string, ports: Obj[]): Obj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { selector: { app: name }, ports } };
}

export function peerAuthentication(name: string, ns: string, spec: Obj): Obj {
  return { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace: ns }, spec };
}

const probe = (port: number | string, extra: Obj = {}) => ({ httpGet: { path: '/ready', port, ...extra }, periodSeconds: 5 });

export const EXAMPLES: Record<string, RuleExample> = {
  IST0107: {
    what: 'a pod annotation on the Deployment\'s own metadata',
    violating: deployment('misplaced', {}, {}, { annotations: { 'sidecar.istio.io/proxyCPU': '100m' } }),
    clean: deployment('misplaced', {}, { annotations: { 'sidecar.istio.io/proxyCPU': '100m' } }),
    path: 'metadata.annotations["sidecar.istio.io/proxyCPU"]',
  },
  IST0108: {
    what: 'a misspelt Istio annotation on the pod template',
    violating: deployment('unknown', {}, { annotations: { 'sidecar.istio.io/proxyCpu': '100m' } }),
    clean: deployment('unknown', {}, { annotations: { 'sidecar.istio.io/proxyCPU': '100m' } }),
    path: 'spec.template.metadata.annotations["sidecar.istio.io/proxyCpu"]',
  },
  IST0125: {
    what: 'an invalid annotation value the injector rejects',
    violating: pod('invalid', {}, { annotations: { 'sidecar.istio.io/interceptionMode': 'REDIRECTED' } }),
    clean: pod('invalid', {}, { annotations: { 'sidecar.istio.io/interceptionMode': 'REDIRECT' } }),
    path: 'metadata.annotations["sidecar.istio.io/interceptionMode"]',
  },
  IST0135: {
    what: 'the deprecated sidecar.istio.io/inject annotation',
    violating: deployment('deprecated', {}, { annotations: { 'sidecar.istio.io/inject': 'true' } }),
    clean: deployment('deprecated', {}, { labels: { app: 'deprecated', 'sidecar.istio.io/inject': 'true' } }),
    path: 'spec.template.metadata.annotations["sidecar.istio.io/inject"]',
  },
  IST0144: {
    what: 'a container running as UID 1337',
    violating: deployment('uid', { containers: [{ name: 'app', image: 'example.com/app:1', securityContext: { runAsUser: 1337 } }] }),
    clean: deployment('uid', { containers: [{ name: 'app', image: 'example.com/app:1', securityContext: { runAsUser: 1000 } }] }),
    path: 'spec.template.spec.containers[0].securityContext.runAsUser',
  },
  IST0123: {
    what: 'a namespace with both istio-injection and istio.io/rev',
    violating: namespace('both-labels', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }),
    clean: namespace('both-labels', { 'istio-injection': 'enabled' }),
    path: 'metadata.labels',
  },
  IST0118: {
    what: 'a Service port named without a protocol',
    violating: service('web', [{ name: 'web', port: 80, targetPort: 8080 }]),
    clean: service('web', [{ name: 'http-web', port: 80, targetPort: 8080 }]),
    path: 'spec.ports[0]',
  },
  IST0150: {
    what: 'an ExternalName Service port named tcp',
    violating: { ...service('external-db', [{ name: 'tcp', port: 5432 }]), spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'tcp', port: 5432 }] } },
    clean: { ...service('external-db', [{ name: 'tcp', port: 5432 }]), spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'tls-db', port: 5432 }] } },
    path: 'spec.ports[0]',
  },
  MW0105: {
    what: 'an init container running as UID 1337',
    violating: deployment('init-uid', { initContainers: [{ name: 'setup', image: 'example.com/setup:1', securityContext: { runAsUser: 1337 } }] }),
    clean: deployment('init-uid', { initContainers: [{ name: 'setup', image: 'example.com/setup:1', securityContext: { runAsUser: 1000 } }] }),
    path: 'spec.template.spec.initContainers[0].securityContext.runAsUser',
  },
  MW0101: {
    what: 'a container port the proxy reserves',
    violating: pod('reserved', { containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 15001 }] }] }),
    clean: pod('reserved', { containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 8080 }] }] }),
    path: 'spec.containers[0].ports[0]',
  },
  MW0102: {
    what: 'a UDP port',
    violating: deployment('udp', { containers: [{ name: 'dns', image: 'example.com/dns:1', ports: [{ name: 'dns', containerPort: 5353, protocol: 'UDP' }] }] }),
    clean: deployment('udp', { containers: [{ name: 'dns', image: 'example.com/dns:1', ports: [{ name: 'dns', containerPort: 5353, protocol: 'TCP' }] }] }),
    path: 'spec.template.spec.containers[0].ports[0]',
  },
  MW0103: {
    what: 'a probe on a named port the container does not declare',
    violating: deployment('probe', {
      containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: probe('metrics') }],
    }),
    clean: deployment('probe', {
      containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: probe('http') }],
    }),
    path: 'spec.template.spec.containers[0].readinessProbe.httpGet.port',
  },
  MW0104: {
    what: 'an exec probe that calls another host',
    violating: deployment('exec', {
      containers: [{ name: 'app', image: 'example.com/app:1', livenessProbe: { exec: { command: ['curl', '-f', 'http://backend.shop:8080/health'] } } }],
    }),
    clean: deployment('exec', {
      containers: [{ name: 'app', image: 'example.com/app:1', livenessProbe: { exec: { command: ['curl', '-f', 'http://localhost:8080/health'] } } }],
    }),
    path: 'spec.template.spec.containers[0].livenessProbe',
  },
  MW0201: {
    what: 'a Job that would get a classic sidecar',
    violating: job('migrate', { annotations: { 'sidecar.istio.io/nativeSidecar': 'false' } }),
    clean: job('migrate'),
    path: 'spec.template.spec',
  },
  MW0301: {
    what: 'a namespace enforcing Pod Security baseline without CNI',
    violating: namespace('restricted-apps', { 'pod-security.kubernetes.io/enforce': 'baseline' }),
    clean: namespace('restricted-apps', { 'pod-security.kubernetes.io/enforce': 'privileged' }),
    path: 'metadata.labels["pod-security.kubernetes.io/enforce"]',
  },
  MW0401: {
    what: 'a pod the injector rejects for another reason than an annotation value (an unknown template)',
    violating: pod('template', {}, { annotations: { 'inject.istio.io/templates': 'gateway' } }),
    clean: pod('template', {}, { annotations: { 'inject.istio.io/templates': 'sidecar' } }),
    path: 'metadata.annotations["inject.istio.io/templates"]',
  },
  MW0402: {
    what: 'a proxy memory request annotation above the memory limit annotation, on a Deployment template',
    violating: deployment('sized', {}, { annotations: { 'sidecar.istio.io/proxyMemory': '256Mi', 'sidecar.istio.io/proxyMemoryLimit': '128Mi' } }),
    clean: deployment('sized', {}, { annotations: { 'sidecar.istio.io/proxyMemory': '128Mi', 'sidecar.istio.io/proxyMemoryLimit': '256Mi' } }),
    path: 'spec.template.metadata.annotations["sidecar.istio.io/proxyMemory"]',
  },
  MW0601: {
    what: 'a proxy image from a registry other than the configured hub',
    violating: pod('image', {}, { annotations: { 'sidecar.istio.io/proxyImage': 'evil.example.com/istio/proxyv2:1.30.2' } }),
    clean: pod('image', {}, { annotations: { 'sidecar.istio.io/proxyImage': 'europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30.2-debug' } }),
    path: 'metadata.annotations["sidecar.istio.io/proxyImage"]',
  },
  MW0602: {
    what: 'a hostPath user volume',
    violating: pod('volume', {}, { annotations: { 'sidecar.istio.io/userVolume': '{"host":{"hostPath":{"path":"/var/run"}}}' } }),
    clean: pod('volume', {}, { annotations: { 'sidecar.istio.io/userVolume': '{"host":{"emptyDir":{}}}' } }),
    path: 'metadata.annotations["sidecar.istio.io/userVolume"]',
  },
  MW0603: {
    what: 'TPROXY interception asked for by the pod: a root istio-proxy with NET_ADMIN the operator does not configure',
    violating: pod('tproxy', {}, { annotations: { 'sidecar.istio.io/interceptionMode': 'TPROXY' } }),
    clean: pod('tproxy', {}, { annotations: { 'sidecar.istio.io/interceptionMode': 'REDIRECT' } }),
    path: 'metadata.annotations["sidecar.istio.io/interceptionMode"]',
  },
  MW0604: {
    what: 'a declared istio-init with its own args (they would run as root with NET_ADMIN)',
    violating: pod('own-init', { initContainers: [{ name: 'istio-init', image: 'auto', args: ['-c', 'id'] }] }),
    clean: pod('own-init', { initContainers: [{ name: 'istio-init', image: 'auto', resources: { limits: { cpu: '50m' } } }] }),
    path: 'spec.initContainers[0]',
  },
  MW0605: {
    what: 'a declared istio-proxy with an image from another registry',
    violating: pod('own-proxy', { containers: [{ name: 'app', image: 'example.com/app:1' }, { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.30.2' }] }),
    clean: pod('own-proxy', { containers: [{ name: 'app', image: 'example.com/app:1' }, { name: 'istio-proxy', image: 'auto' }] }),
    path: 'spec.containers[1]',
  },
  MW0606: {
    what: 'LD_PRELOAD in proxyMetadata (it reaches the root istio-init and istio-proxy)',
    violating: pod('preload', {}, { annotations: { 'proxy.istio.io/config': 'proxyMetadata:\n  LD_PRELOAD: /var/lib/istio/data/x.so\n' } }),
    clean: pod('preload', {}, { annotations: { 'proxy.istio.io/config': 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n' } }),
    path: 'metadata.annotations["proxy.istio.io/config"]',
  },
  MW0607: {
    what: 'a sidecar.istio.io/status written by hand that names another webhook\'s container',
    violating: pod('status', { containers: [{ name: 'app', image: 'example.com/app:1' }, { name: 'vault-agent', image: 'example.com/vault:1' }] }, { annotations: { 'sidecar.istio.io/status': '{"containers":["vault-agent"]}' } }),
    clean: pod('status', { containers: [{ name: 'app', image: 'example.com/app:1' }, { name: 'vault-agent', image: 'example.com/vault:1' }] }, { annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } }),
    path: 'metadata.annotations["sidecar.istio.io/status"]',
  },
  MW0501: {
    what: 'an mTLS mode that does not exist',
    violating: peerAuthentication('default', NS, { mtls: { mode: 'STRICTER' } }),
    clean: peerAuthentication('default', NS, { mtls: { mode: 'PERMISSIVE' } }),
    path: 'spec.mtls.mode',
  },
  MW0502: {
    what: 'a mesh-wide PeerAuthentication that is not STRICT',
    violating: peerAuthentication('default', 'istio-system', { mtls: { mode: 'PERMISSIVE' } }),
    clean: peerAuthentication('default', 'istio-system', { mtls: { mode: 'STRICT' } }),
    path: 'spec.mtls.mode',
  },
};
