/**
 * The deployment manifests (manifests/, kustomize): every overlay renders with `kubectl kustomize`, every object is
 * valid against the Kubernetes (and cert-manager) OpenAPI schemas, and the settings that matter for a webhook that
 * can block pod creation cluster-wide are exactly as documented in docs/deploying.md.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IMutatingWebhook } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhook';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import type { IRuleWithOperations } from 'kubernetes-models/admissionregistration.k8s.io/v1/RuleWithOperations';
import type { IValidatingWebhook } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhook';
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import { parseCommandLine } from '../../src/cli/args.js';
import { loadConfig } from '../../src/config/load.js';
import { OVERLAYS_DIR, renderOverlay, ROOT, type Obj } from './render.js';

const NS = 'mesh-webhook';
const NAME = 'mesh-webhook';
const APP_LABEL = { 'app.kubernetes.io/name': 'mesh-webhook' };
const SERVICE_SANS = ['mesh-webhook.mesh-webhook.svc', 'mesh-webhook.mesh-webhook.svc.cluster.local'];
const EXCLUDED_NAMESPACES = ['istio-system', 'kube-system', 'kube-public', 'kube-node-lease', 'mesh-webhook'];
/** The namespaceSelector both webhooks share. */
const NAMESPACE_SELECTOR = {
  matchExpressions: [
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: EXCLUDED_NAMESPACES },
    { key: 'istio-injection', operator: 'NotIn', values: ['disabled'] },
    { key: 'gardener.cloud/purpose', operator: 'NotIn', values: ['kube-system'] },
  ],
};

/** Schema validator per apiVersion/kind: every kind an overlay renders must be listed (and so validated). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ResourceQuota': ResourceQuota,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': ValidatingAdmissionPolicyBinding,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'cert-manager.io/v1/Certificate': Certificate,
  'cert-manager.io/v1/Issuer': Issuer,
};
const CLUSTER_SCOPED = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
]);

// ---- rendering ----------------------------------------------------------------------------------------------------

const overlayNames = readdirSync(OVERLAYS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const rendered = new Map<string, Obj[]>();
function objects(overlay: string): Obj[] {
  let objs = rendered.get(overlay);
  if (!objs) {
    objs = renderOverlay(overlay);
    rendered.set(overlay, objs);
  }
  return objs;
}

function all<T = Obj>(overlay: string, kind: string): T[] {
  return objects(overlay).filter((o) => o.kind === kind) as T[];
}

/** The one object of `kind` named `name` (fails naming what is missing or duplicated). */
function one<T = Obj>(overlay: string, kind: string, name = NAME): T {
  const found = objects(overlay).filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${overlay}: exactly one ${kind} ${name}`).toHaveLength(1);
  return found[0] as T;
}

function single<T>(list: T[] | undefined, what: string): T {
  expect(list, what).toHaveLength(1);
  return (list as T[])[0] as T;
}

// ---- typed views of the objects the assertions read ---------------------------------------------------------------

interface WebhookConfig<W> extends Obj {
  webhooks: W[];
}
interface PodSpecView {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  affinity?: { podAntiAffinity?: Record<string, unknown>; podAffinity?: unknown; nodeAffinity?: unknown };
  topologySpreadConstraints?: Record<string, unknown>[];
  priorityClassName?: string;
  containers: IContainer[];
  initContainers?: IContainer[];
  volumes?: { name: string; configMap?: { name?: string }; secret?: { secretName?: string; optional?: boolean }; emptyDir?: unknown }[];
}
interface DeploymentView extends Obj {
  spec: {
    replicas: number;
    selector: { matchLabels?: Record<string, string> };
    strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpecView };
  };
}
interface RbacRole extends Obj {
  rules: IPolicyRule[];
}
interface Binding extends Obj {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}
interface ServiceView extends Obj {
  spec: { type?: string; selector: Record<string, string>; ports: { name?: string; port: number; targetPort: number | string; protocol?: string }[] };
}
interface CertificateView extends Obj {
  spec: { secretName: string; isCA?: boolean; dnsNames?: string[]; usages?: string[]; issuerRef: { name: string; kind?: string; group?: string } };
}
interface IssuerView extends Obj {
  spec: { selfSigned?: Record<string, unknown>; ca?: { secretName: string } };
}

function deployment(overlay: string): DeploymentView {
  return one<DeploymentView>(overlay, 'Deployment');
}
function container(overlay: string): IContainer {
  return single(deployment(overlay).spec.template.spec.containers, 'the Deployment has one container');
}
function mutatingWebhook(overlay: string): IMutatingWebhook {
  return single(one<WebhookConfig<IMutatingWebhook>>(overlay, 'MutatingWebhookConfiguration').webhooks, 'one mutating webhook');
}
function validatingWebhook(overlay: string): IValidatingWebhook {
  return single(one<WebhookConfig<IValidatingWebhook>>(overlay, 'ValidatingWebhookConfiguration').webhooks, 'one validating webhook');
}
function configMapData(overlay: string): Record<string, string> {
  const cm = one<Obj & { data?: Record<string, string> }>(overlay, 'ConfigMap', 'mesh-webhook-config');
  return cm.data ?? {};
}

/** `rule` as comparable strings, one per (operation, group, version, resource). */
function expandRules(rules: IRuleWithOperations[] | undefined): string[] {
  const out: string[] = [];
  for (const r of rules ?? []) {
    for (const op of r.operations ?? [])
      for (const g of r.apiGroups ?? [])
        for (const v of r.apiVersions ?? [])
          for (const res of r.resources ?? []) out.push(`${op} ${g || 'core'}/${v}/${res} ${r.scope ?? '*'}`);
  }
  return out.sort();
}

/**
 * The RBAC each overlay grants, rule by rule, written out (docs/deploying.md, "Webhook settings and why"; src/cluster/client.ts):
 * self-managed certificates read and patch the two webhook configurations and read/renew/create one Secret; files mode
 * (cert-manager) only lists and watches namespaces and nodes.
 */
const NAMESPACES_NODES: IPolicyRule = { apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] };
// caBundle (self-managed) and the annotated failurePolicy once ready (every overlay).
const WEBHOOK_CONFIGURATIONS: IPolicyRule = {
  apiGroups: ['admissionregistration.k8s.io'],
  resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
  resourceNames: ['mesh-webhook'],
  verbs: ['get', 'patch'],
};
const SELF_MANAGED_RBAC: { clusterRole: IPolicyRule[]; role?: IPolicyRule[] } = {
  clusterRole: [NAMESPACES_NODES, WEBHOOK_CONFIGURATIONS],
  role: [
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['mesh-webhook-tls'], verbs: ['get', 'update'] },
    // create cannot be restricted by resourceNames (the name is not known when it is authorised).
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ],
};
const RBAC: Record<string, { clusterRole: IPolicyRule[]; role?: IPolicyRule[] }> = {
  kyma: SELF_MANAGED_RBAC,
  staging: SELF_MANAGED_RBAC,
  'cert-manager': { clusterRole: [NAMESPACES_NODES, WEBHOOK_CONFIGURATIONS] },
};

const DEPLOYING = readFileSync(join(ROOT, 'docs', 'deploying.md'), 'utf8');
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const tmp = mkdtempSync(join(tmpdir(), 'mesh-webhook-manifests-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- every overlay ------------------------------------------------------------------------------------------------

it('has the overlays kyma, staging and cert-manager', () => {
  expect(overlayNames).toEqual(['cert-manager', 'kyma', 'staging']);
});

describe.each(overlayNames)('overlay %s', (overlay) => {
  beforeAll(() => {
    objects(overlay);
  });

  it('renders only kinds with a schema, each valid against it', () => {
    const objs = objects(overlay);
    expect(objs.length).toBeGreaterThan(10);
    for (const obj of objs) {
      const id = `${obj.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
      const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
      expect(Model, `${id}: no schema registered for ${obj.apiVersion}/${obj.kind}`).toBeDefined();
      try {
        new Model!(obj as never).validate();
      } catch (err) {
        throw new Error(`${overlay}: ${id} is not valid: ${(err as Error).message}`);
      }
    }
  });

  it('labels every object app.kubernetes.io/name: mesh-webhook and puts namespaced objects in mesh-webhook', () => {
    for (const obj of objects(overlay)) {
      const id = `${obj.kind} ${obj.metadata.name}`;
      expect(obj.metadata.labels, id).toMatchObject(APP_LABEL);
      if (CLUSTER_SCOPED.has(obj.kind)) expect(obj.metadata.namespace, id).toBeUndefined();
      else expect(obj.metadata.namespace, id).toBe(NS);
    }
  });

  it('ships an injector config.yaml that loads (profile kyma)', () => {
    const text = configMapData(overlay)['config.yaml'];
    expect(text, 'ConfigMap mesh-webhook-config has a config.yaml key').toBeTypeOf('string');
    const configFile = join(tmp, `${overlay}-config.yaml`);
    writeFileSync(configFile, text!);
    const config = loadConfig({ configFile });
    expect(config.profile).toBe('kyma');
    expect(config.policy).toBe('enabled');
    expect(config.excludedNamespaces).toEqual(expect.arrayContaining(['istio-system', 'kube-system', 'mesh-webhook']));
    expect(config.nativeSidecars).toBe('auto');
    expect(config.values).toMatchObject({
      global: { hub: 'europe-docker.pkg.dev/kyma-project/prod/external/istio', tag: '1.30.2-distroless' },
    });
  });

  it('mutating webhook: inject.mesh-webhook.kyma-project.io with the documented settings', () => {
    const config = one<WebhookConfig<IMutatingWebhook>>(overlay, 'MutatingWebhookConfiguration');
    expect(config.apiVersion).toBe('admissionregistration.k8s.io/v1');
    const w = mutatingWebhook(overlay);
    expect(w.name).toBe('inject.mesh-webhook.kyma-project.io');
    expect(w.clientConfig).toEqual({ service: { name: NAME, namespace: NS, path: '/inject', port: 443 } });
    expect(w.clientConfig.caBundle, 'caBundle is left to the runtime (self-managed mode or cainjector)').toBeUndefined();
    expect(w.timeoutSeconds).toBe(10);
    // Ignore until a replica is ready; then the annotated Fail (src/cluster/failurePolicy.ts, test/cluster/install.test.ts).
    expect(w.failurePolicy).toBe('Ignore');
    expect(one(overlay, 'MutatingWebhookConfiguration').metadata.annotations?.['mesh-webhook.kyma-project.io/failure-policy']).toBe('Fail');
    expect(w.sideEffects).toBe('None');
    expect(w.admissionReviewVersions).toEqual(['v1']);
    expect(w.reinvocationPolicy).toBe('IfNeeded');
    expect(w.matchPolicy).toBe('Equivalent');
    expect(w.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    expect(w.namespaceSelector?.matchLabels).toBeUndefined();
    const exprs = w.namespaceSelector?.matchExpressions ?? [];
    expect(exprs).toHaveLength(3);
    expect(exprs[0]).toEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: EXCLUDED_NAMESPACES });
    expect(exprs[1]).toEqual({ key: 'istio-injection', operator: 'NotIn', values: ['disabled'] });
    expect(exprs[2]).toEqual({ key: 'gardener.cloud/purpose', operator: 'NotIn', values: ['kube-system'] });
    expect(w.objectSelector).toEqual({ matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] });
    // Nothing else (a misspelt field would otherwise pass the schema, which allows unknown fields).
    expect(Object.keys(w).sort()).toEqual(
      ['admissionReviewVersions', 'clientConfig', 'failurePolicy', 'matchPolicy', 'name', 'namespaceSelector', 'objectSelector',
        'reinvocationPolicy', 'rules', 'sideEffects', 'timeoutSeconds'].sort(),
    );
  });

  it('validating webhook: validate.mesh-webhook.kyma-project.io on CREATE/UPDATE of workloads, services, namespaces, PeerAuthentications', () => {
    const w = validatingWebhook(overlay);
    expect(w.name).toBe('validate.mesh-webhook.kyma-project.io');
    expect(w.clientConfig).toEqual({ service: { name: NAME, namespace: NS, path: '/validate', port: 443 } });
    expect(w.timeoutSeconds).toBe(10);
    expect(w.sideEffects).toBe('None');
    expect(w.admissionReviewVersions).toEqual(['v1']);
    expect(w.matchPolicy).toBe('Equivalent');
    expect(w.namespaceSelector).toEqual(NAMESPACE_SELECTOR);
    const expected: string[] = [];
    const add = (group: string, versions: string[], resources: string[], scope: string) => {
      for (const op of ['CREATE', 'UPDATE'])
        for (const v of versions) for (const r of resources) expected.push(`${op} ${group}/${v}/${r} ${scope}`);
    };
    add('core', ['v1'], ['pods', 'replicationcontrollers', 'services'], 'Namespaced');
    add('core', ['v1'], ['namespaces'], 'Cluster');
    add('apps', ['v1'], ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], 'Namespaced');
    add('batch', ['v1'], ['jobs', 'cronjobs'], 'Namespaced');
    add('security.istio.io', ['v1', 'v1beta1'], ['peerauthentications'], 'Namespaced');
    expect(expandRules(w.rules)).toEqual(expected.sort());
    expect(Object.keys(w).sort()).toEqual(
      ['admissionReviewVersions', 'clientConfig', 'failurePolicy', 'matchPolicy', 'name', 'namespaceSelector', 'rules', 'sideEffects',
        'timeoutSeconds'].sort(),
    );
  });

  it('Deployment: 2 replicas spread over nodes and zones, never injected itself', () => {
    const d = deployment(overlay);
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.selector).toEqual({ matchLabels: APP_LABEL });
    expect(d.spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
    const tpl = d.spec.template;
    expect(tpl.metadata.labels).toEqual({ ...APP_LABEL, 'sidecar.istio.io/inject': 'false' });
    const pod = tpl.spec;
    expect(pod.serviceAccountName).toBe(NAME);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    // Every pod creation depends on it once ready; the ResourceQuota admits the class outside kube-system (GKE).
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    const quota = one<{ spec: unknown }>(overlay, 'ResourceQuota', 'mesh-webhook-critical-pods');
    expect(quota.spec).toEqual({
      hard: { pods: '10' },
      scopeSelector: { matchExpressions: [{ operator: 'In', scopeName: 'PriorityClass', values: ['system-cluster-critical'] }] },
    });
    expect(pod.initContainers).toBeUndefined();
    expect(pod.affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: APP_LABEL } } },
        ],
      },
    });
    expect(pod.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: APP_LABEL } },
    ]);
  });

  it('Deployment: non-root, read-only, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp', () => {
    const pod = deployment(overlay).spec.template.spec;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(overlay).securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('Deployment: serve over HTTPS on 8443 with probes, resources, config and certificate from the ConfigMap and Secret', () => {
    const c = container(overlay);
    expect(c.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(c.lifecycle, 'no preStop: the server drains on SIGTERM').toBeUndefined();
    // Exactly what the documented build produces (docs/deploying.md: `docker build -t mesh-webhook:<version> .`), so a
    // loaded image runs unedited; a registry is set in the overlay's images entry (docs/deploying.md, "Steps").
    expect(c.image).toBe('mesh-webhook:0.1.0');
    expect(DEPLOYING).toContain('docker build -t mesh-webhook:0.1.0 .');
    expect(PACKAGE_VERSION).toBe('0.1.0');
    expect(c.command, 'the image entry point runs the CLI').toBeUndefined();
    const certManager = overlay === 'cert-manager';
    // staging appends `--set validation.mode=enforce` to the kyma arguments.
    const staging = overlay === 'staging';
    // The CLI listens on 127.0.0.1 by default; in a pod the API server, the kubelet and Prometheus connect to the pod
    // IP, so both listeners are asked for on all interfaces (the NetworkPolicy decides who may connect).
    const allInterfaces = ['--host', '0.0.0.0', '--metrics-host', '0.0.0.0'];
    expect(c.args).toEqual(
      certManager
        ? [
            'serve',
            ...allInterfaces,
            '--config', '/etc/mesh-webhook/config/config.yaml',
            '--certificates', 'files',
            '--cert', '/etc/mesh-webhook/tls/tls.crt',
            '--key', '/etc/mesh-webhook/tls/tls.key',
          ]
        : [
            'serve', ...allInterfaces, '--config', '/etc/mesh-webhook/config/config.yaml', '--certificates', 'self-managed',
            ...(staging ? ['--set', 'validation.mode=enforce'] : []),
          ],
    );
    // The CLI accepts exactly these arguments.
    const invocation = parseCommandLine(c.args ?? []);
    expect(invocation).toMatchObject({ command: 'serve', args: { host: '0.0.0.0', metricsHost: '0.0.0.0' } });
    expect(invocation).toMatchObject({
      command: 'serve',
      args: certManager
        ? {
            certFile: '/etc/mesh-webhook/tls/tls.crt',
            keyFile: '/etc/mesh-webhook/tls/tls.key',
            config: { configFile: '/etc/mesh-webhook/config/config.yaml' },
            cluster: { certificates: 'files' },
          }
        : {
            config: { configFile: '/etc/mesh-webhook/config/config.yaml', ...(staging ? { sets: ['validation.mode=enforce'] } : {}) },
            cluster: { certificates: 'self-managed' },
          },
    });

    const pod = deployment(overlay).spec.template.spec;
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.name, m]));
    expect(volumes.get('config')?.configMap?.name).toBe('mesh-webhook-config');
    if (certManager) {
      // Not optional: the pod waits for cert-manager's Secret.
      expect(volumes.get('tls')?.secret).toEqual({ secretName: 'mesh-webhook-tls', defaultMode: 0o440 });
      expect(mounts.get('tls')).toEqual({ name: 'tls', mountPath: '/etc/mesh-webhook/tls', readOnly: true });
    } else {
      // Self-managed: the service reads and writes the Secret through the API, nothing is mounted.
      expect(volumes.has('tls')).toBe(false);
      expect(mounts.has('tls')).toBe(false);
    }
    expect(mounts.get('config')).toEqual({ name: 'config', mountPath: '/etc/mesh-webhook/config', readOnly: true });
    for (const m of mounts.values()) {
      expect(volumes.has(m.name), `volume of mount ${m.name}`).toBe(true);
      expect(m.subPath, `${m.name} is mounted as a directory so updates reach the pod`).toBeUndefined();
    }
  });

  it('Service 443 → 8443 selects the webhook pods; PodDisruptionBudget keeps one', () => {
    const svc = one<ServiceView>(overlay, 'Service');
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }]);
    expect(svc.spec.selector).toEqual(APP_LABEL);
    const labels = deployment(overlay).spec.template.metadata.labels;
    expect(labels).toMatchObject(svc.spec.selector);
    const webhookPort = mutatingWebhook(overlay).clientConfig.service?.port;
    expect(svc.spec.ports.map((p) => p.port)).toContain(webhookPort);

    const pdb = one<Obj & { spec: Record<string, unknown> }>(overlay, 'PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.maxUnavailable).toBeUndefined();
    expect(pdb.spec.selector).toEqual({ matchLabels: APP_LABEL });
  });

  it('RBAC: exactly what the code calls, bound to the mesh-webhook ServiceAccount', () => {
    one(overlay, 'ServiceAccount');
    const expected = RBAC[overlay];
    expect(expected, `an RBAC table for overlay ${overlay}`).toBeDefined();
    const clusterRoles = all<RbacRole>(overlay, 'ClusterRole');
    const roles = all<RbacRole>(overlay, 'Role');
    expect(clusterRoles.map((r) => r.metadata.name)).toEqual([NAME]);
    expect(clusterRoles[0]!.rules).toEqual(expected!.clusterRole);
    if (expected!.role === undefined) {
      expect(roles, 'no namespaced Role: it would be empty').toEqual([]);
      expect(all(overlay, 'RoleBinding'), 'no RoleBinding without a Role').toEqual([]);
    } else {
      expect(roles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([`${NS}/${NAME}`]);
      expect(roles[0]!.rules).toEqual(expected!.role);
    }

    for (const rule of [...clusterRoles, ...roles].flatMap((r) => r.rules)) {
      const text = JSON.stringify(rule);
      for (const field of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? [], rule.resourceNames ?? []]) {
        expect(field, `no wildcard in ${text}`).not.toContain('*');
      }
      expect(rule.nonResourceURLs, text).toBeUndefined();
      // Nothing the code never does, and nothing that would let a stolen token widen its own rights.
      for (const verb of ['update', 'escalate', 'bind', 'impersonate', 'delete', 'deletecollection']) {
        if (verb === 'update' && rule.resources?.includes('secrets')) continue; // the Secret renewal is a PUT
        expect(rule.verbs, text).not.toContain(verb);
      }
      expect(rule.resources ?? [], `${text}: the configuration is a mounted volume, never read through the API`).not.toContain('configmaps');
    }
    // Every secret rule except the bare create is scoped by name.
    for (const rule of roles.flatMap((r) => r.rules).filter((r) => r.resources?.includes('secrets'))) {
      if (rule.resourceNames === undefined) expect(rule.verbs).toEqual(['create']);
      else expect(rule.resourceNames).toEqual(['mesh-webhook-tls']);
    }
    // The webhook configurations the ClusterRole names are the ones rendered.
    expect(one(overlay, 'MutatingWebhookConfiguration').metadata.name).toBe('mesh-webhook');
    expect(one(overlay, 'ValidatingWebhookConfiguration').metadata.name).toBe('mesh-webhook');
    // The names match what the Deployment mounts (cert-manager) or manages through the API (self-managed).
    const volumes = deployment(overlay).spec.template.spec.volumes ?? [];
    expect(volumes.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(overlay === 'cert-manager' ? ['mesh-webhook-tls'] : []);
    expect(volumes.map((v) => v.configMap?.name).filter(Boolean)).toEqual(['mesh-webhook-config']);

    const subject = { kind: 'ServiceAccount', name: NAME, namespace: NS };
    const crb = one<Binding>(overlay, 'ClusterRoleBinding');
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME });
    expect(crb.subjects).toEqual([subject]);
    if (expected!.role !== undefined) {
      const rb = one<Binding>(overlay, 'RoleBinding');
      expect(rb.metadata.namespace).toBe(NS);
      expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME });
      expect(rb.subjects).toEqual([subject]);
    }
  });

  it('HorizontalPodAutoscaler: CPU 70 %, 2..6 replicas of the Deployment', () => {
    const hpa = one<Obj & { spec: Record<string, unknown> }>(overlay, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
    expect(deployment(overlay).spec.replicas, 'Deployment replicas = HPA minimum').toBe(hpa.spec.minReplicas);
  });

  it('namespace mesh-webhook is labelled istio-injection: disabled', () => {
    expect(one(overlay, 'Namespace').metadata.labels).toMatchObject({ 'istio-injection': 'disabled' });
  });
});

// ---- what differs per overlay -------------------------------------------------------------------------------------

describe('kyma overlay (default)', () => {
  it('validates warn-only: failurePolicy Ignore (also once ready), the config\'s validation mode (warn), no --set', () => {
    expect(validatingWebhook('kyma').failurePolicy).toBe('Ignore');
    expect(one('kyma', 'ValidatingWebhookConfiguration').metadata.annotations?.['mesh-webhook.kyma-project.io/failure-policy']).toBe('Ignore');
    expect(Object.keys(configMapData('kyma'))).toEqual(['config.yaml']);
    expect(container('kyma').args).not.toContain('--set');
    const configFile = join(tmp, 'kyma-validation-config.yaml');
    writeFileSync(configFile, configMapData('kyma')['config.yaml']!);
    expect(loadConfig({ configFile }).validation).toEqual({ mode: 'warn' });
  });

  it('uses self-managed certificates: no cert-manager objects or annotations', () => {
    expect(objects('kyma').filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(one('kyma', kind).metadata.annotations?.['cert-manager.io/inject-ca-from']).toBeUndefined();
    }
  });

  it('renders exactly the expected objects', () => {
    expect(objects('kyma').map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ClusterRole/mesh-webhook', 'ClusterRoleBinding/mesh-webhook', 'ConfigMap/mesh-webhook-config', 'Deployment/mesh-webhook',
        'HorizontalPodAutoscaler/mesh-webhook', 'MutatingWebhookConfiguration/mesh-webhook', 'Namespace/mesh-webhook',
        'NetworkPolicy/mesh-webhook-gardener', 'PodDisruptionBudget/mesh-webhook', 'ResourceQuota/mesh-webhook-critical-pods',
        'Role/mesh-webhook', 'RoleBinding/mesh-webhook',
        'Service/mesh-webhook', 'ServiceAccount/mesh-webhook', 'ValidatingAdmissionPolicy/mesh-webhook-cabundle-only',
        'ValidatingAdmissionPolicyBinding/mesh-webhook-cabundle-only', 'ValidatingWebhookConfiguration/mesh-webhook',
      ].sort(),
    );
  });
});

describe('staging overlay', () => {
  it('enforces validation: the validating webhook fails closed once ready (annotated Fail; Ignore until then)', () => {
    const annotated = (kind: string) => one('staging', kind).metadata.annotations?.['mesh-webhook.kyma-project.io/failure-policy'];
    expect([annotated('ValidatingWebhookConfiguration'), annotated('MutatingWebhookConfiguration')]).toEqual(['Fail', 'Fail']);
    expect(validatingWebhook('staging').failurePolicy).toBe('Ignore');
    expect(mutatingWebhook('staging').failurePolicy).toBe('Ignore');
  });

  it('sets validation.mode=enforce on the command line; the ConfigMap is the kyma one', () => {
    expect(container('staging').args?.slice(-2)).toEqual(['--set', 'validation.mode=enforce']);
    expect(configMapData('staging')).toEqual(configMapData('kyma'));
    // The configuration the staging pods run: the shipped config.yaml with the staging arguments, as the service loads it.
    const configFile = join(tmp, 'staging-validation-config.yaml');
    writeFileSync(configFile, configMapData('staging')['config.yaml']!);
    const invocation = parseCommandLine(container('staging').args ?? []);
    if (invocation.command !== 'serve') throw new Error(`expected serve, got ${invocation.command}`);
    expect(loadConfig({ ...invocation.args.config, configFile }).validation).toEqual({ mode: 'enforce' });
  });

  it('changes nothing else than the kyma overlay', () => {
    const withoutArgs = (o: Obj): Obj => {
      if (o.kind !== 'Deployment') return o;
      const copy = structuredClone(o) as Obj & { spec: { template: { spec: { containers: IContainer[] } } } };
      const c = copy.spec.template.spec.containers[0]!;
      c.args = (c.args ?? []).filter((a) => a !== '--set' && a !== 'validation.mode=enforce');
      return copy;
    };
    const strip = (objs: Obj[]) =>
      objs
        .filter((o) => o.kind !== 'ValidatingWebhookConfiguration')
        .map((o) => JSON.stringify(withoutArgs(o)))
        .sort();
    expect(strip(objects('staging'))).toEqual(strip(objects('kyma')));
  });
});

describe('cert-manager overlay', () => {
  const ANNOTATION = 'cert-manager.io/inject-ca-from';

  it('annotates both webhook configurations for the cainjector with the serving Certificate', () => {
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(one('cert-manager', kind).metadata.annotations?.[ANNOTATION], kind).toBe('mesh-webhook/mesh-webhook-serving');
    }
    const [ns, name] = 'mesh-webhook/mesh-webhook-serving'.split('/');
    const serving = one<CertificateView>('cert-manager', 'Certificate', name);
    expect(serving.metadata.namespace).toBe(ns);
  });

  it('issues the serving certificate into Secret mesh-webhook-tls with the Service DNS names', () => {
    const serving = one<CertificateView>('cert-manager', 'Certificate', 'mesh-webhook-serving');
    expect(serving.spec.secretName).toBe('mesh-webhook-tls');
    expect(serving.spec.dnsNames).toEqual(SERVICE_SANS);
    expect(serving.spec.isCA).toBeFalsy();
    expect(serving.spec.usages).toContain('server auth');
    // The Secret is the one the Deployment mounts.
    const tls = (deployment('cert-manager').spec.template.spec.volumes ?? []).find((v) => v.name === 'tls');
    expect(tls?.secret?.secretName).toBe(serving.spec.secretName);
  });

  it('chains self-signed Issuer → CA Certificate → CA Issuer → serving Certificate', () => {
    const serving = one<CertificateView>('cert-manager', 'Certificate', 'mesh-webhook-serving');
    expect(serving.spec.issuerRef).toMatchObject({ kind: 'Issuer', name: 'mesh-webhook-ca' });
    const caIssuer = one<IssuerView>('cert-manager', 'Issuer', 'mesh-webhook-ca');
    const caCert = one<CertificateView>('cert-manager', 'Certificate', 'mesh-webhook-ca');
    expect(caCert.spec.isCA).toBe(true);
    expect(caIssuer.spec.ca?.secretName).toBe(caCert.spec.secretName);
    expect(caCert.spec.secretName).not.toBe('mesh-webhook-tls');
    expect(caCert.spec.issuerRef).toMatchObject({ kind: 'Issuer', name: 'mesh-webhook-selfsigned' });
    expect(one<IssuerView>('cert-manager', 'Issuer', 'mesh-webhook-selfsigned').spec).toEqual({ selfSigned: {} });
    expect(all('cert-manager', 'Certificate')).toHaveLength(2);
    expect(all('cert-manager', 'Issuer')).toHaveLength(2);
  });

  it('renders the kyma objects without the namespaced Role and RoleBinding, plus the cert-manager objects', () => {
    const ids = (overlay: string) => objects(overlay).map((o) => `${o.kind}/${o.metadata.name}`).sort();
    const expected = ids('kyma')
      .filter((id) => id !== 'Role/mesh-webhook' && id !== 'RoleBinding/mesh-webhook')
      .concat(['Certificate/mesh-webhook-ca', 'Certificate/mesh-webhook-serving', 'Issuer/mesh-webhook-ca', 'Issuer/mesh-webhook-selfsigned'])
      .sort();
    expect(ids('cert-manager')).toEqual(expected);
  });

  it('serves the certificate files from the Secret instead of self-managed certificates', () => {
    expect(container('cert-manager').args).toContain('files');
    expect(container('kyma').args).toContain('self-managed');
  });
});

describe('the config check', () => {
  it('fails on a typo in the injector config', () => {
    const text = configMapData('kyma')['config.yaml']!.replace('policy: enabled', 'polcy: enabled');
    expect(text).toContain('polcy');
    const configFile = join(tmp, 'typo.yaml');
    writeFileSync(configFile, text);
    expect(() => loadConfig({ configFile })).toThrow(/polcy/);
  });
});
