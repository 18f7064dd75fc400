/**
 * The kinds `istioctl kube-inject` injects, and where each keeps its pod template.
 * Kinds are matched on API group + kind (any version), so a custom resource that happens to be called
 * "Deployment" in another group passes through untouched.
 */
export interface PodTemplateShape {
  /** Path from the object root to the pod template (`{metadata, spec}`); empty for a Pod itself. */
  readonly template: readonly string[];
  /**
   * Path to the object whose `metadata` is the pod's metadata, when it is not the template itself.
   * istioctl's CronJob quirk: it reads and writes `spec.jobTemplate.metadata`, not the pod template's metadata.
   */
  readonly metadataOwner?: readonly string[];
}

interface KindSpec {
  readonly groups: readonly string[];
  readonly shape: PodTemplateShape;
}

const SPEC_TEMPLATE: PodTemplateShape = { template: ['spec', 'template'] };

const KINDS: Readonly<Record<string, KindSpec>> = {
  Pod: { groups: [''], shape: { template: [] } },
  ReplicationController: { groups: [''], shape: SPEC_TEMPLATE },
  Deployment: { groups: ['apps', 'extensions'], shape: SPEC_TEMPLATE },
  DaemonSet: { groups: ['apps', 'extensions'], shape: SPEC_TEMPLATE },
  ReplicaSet: { groups: ['apps', 'extensions'], shape: SPEC_TEMPLATE },
  StatefulSet: { groups: ['apps'], shape: SPEC_TEMPLATE },
  Job: { groups: ['batch'], shape: SPEC_TEMPLATE },
  CronJob: {
    groups: ['batch'],
    shape: { template: ['spec', 'jobTemplate', 'spec', 'template'], metadataOwner: ['spec', 'jobTemplate'] },
  },
  // OpenShift's legacy `apiVersion: v1` DeploymentConfig is injected too (istioctl golden deploymentconfig-with-canonical-service-label).
  DeploymentConfig: { groups: ['apps.openshift.io', ''], shape: SPEC_TEMPLATE },
};

/** API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → `` for the core group). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Where the pod template of an injectable kind lives, or `undefined` for kinds that pass through. */
export function podTemplateShape(apiVersion: string, kind: string): PodTemplateShape | undefined {
  const spec = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  return spec?.groups.includes(apiGroup(apiVersion)) ? spec.shape : undefined;
}

/** `v1 List`: its `items` are processed one by one. */
export function isList(apiVersion: string, kind: string): boolean {
  return kind === 'List' && apiGroup(apiVersion) === '';
}
