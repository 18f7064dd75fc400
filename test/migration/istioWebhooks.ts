/**
 * istiod's MutatingWebhookConfigurations as data: the webhooks and selectors Istio's chart registers, ported from the
 * Istio project (Apache License 2.0, istio/istio 86c9f01fd735; test/fixtures/istio/NOTICE):
 *
 * - manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml: `istio-sidecar-injector[-<rev>]`,
 *   `rev.namespace.` and `rev.object.` for the revision (`default` when values.revision is empty), and for the default
 *   revision only `namespace.`, `object.` and, with sidecarInjectorWebhook.enableNamespacesByDefault, `auto.`;
 * - manifests/charts/istio-control/istio-discovery/templates/revision-tags-mwc.yaml (what `istioctl tag set` renders,
 *   istioctl/pkg/tag/generate.go: values.revisionTags=[tag], enableNamespacesByDefault from --auto-inject-namespaces):
 *   `istio-revision-tag-<tag>`, the two revision webhooks for the tag, and for the tag `default` the default
 *   revision's other webhooks;
 * - istioctl/pkg/tag/util.go DeactivateIstioInjectionWebhook (what `istioctl tag set default` does to the default
 *   revision's configuration, and what the Kyma Istio module recognises as deactivated): every webhook's selectors
 *   replaced by `matchLabels {istio.io/deactivated: never-match}` (istioctl/pkg/util/common.go NeverMatch).
 *
 * Only what decides which pods reach which injector is kept: names, rules (CREATE pods), selectors. Each
 * configuration says which injector its webhooks call (`injector`), for the tests' bookkeeping.
 */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface Webhook {
  name: string;
  rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[] }[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
}

export interface WebhookConfiguration {
  metadata: { name: string };
  webhooks: Webhook[];
}

/** Which injector a configuration's webhooks call. */
export type Injector = 'istiod' | 'mesh-webhook';

export interface Registered {
  injector: Injector;
  configuration: WebhookConfiguration;
}

const POD_CREATE: Webhook['rules'] = [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }];
/** `sidecar.istio.io/inject NotIn ["false"]`: every webhook but object. and auto. has it. */
function notFalse(): NonNullable<LabelSelector['matchExpressions']>[number] {
  return { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] };
}

function webhook(prefix: string, namespaceSelector: LabelSelector, objectSelector: LabelSelector): Webhook {
  return { name: `${prefix}sidecar-injector.istio.io`, rules: POD_CREATE, namespaceSelector, objectSelector };
}

/** `rev.namespace.` and `rev.object.` for revision (or tag) `rev`. */
function revisionWebhooks(rev: string): Webhook[] {
  return [
    webhook(
      'rev.namespace.',
      { matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: [rev] }, { key: 'istio-injection', operator: 'DoesNotExist' }] },
      { matchExpressions: [notFalse()] },
    ),
    webhook(
      'rev.object.',
      { matchExpressions: [{ key: 'istio.io/rev', operator: 'DoesNotExist' }, { key: 'istio-injection', operator: 'DoesNotExist' }] },
      { matchExpressions: [notFalse(), { key: 'istio.io/rev', operator: 'In', values: [rev] }] },
    ),
  ];
}

/** `namespace.`, `object.` and, on by default, `auto.`: the default revision's (and the tag default's). */
function defaultRevisionWebhooks(enableNamespacesByDefault: boolean): Webhook[] {
  const hooks = [
    webhook('namespace.', { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] }, { matchExpressions: [notFalse()] }),
    webhook(
      'object.',
      { matchExpressions: [{ key: 'istio-injection', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
      { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
    ),
  ];
  if (enableNamespacesByDefault) {
    hooks.push(
      webhook(
        'auto.',
        {
          matchExpressions: [
            { key: 'istio-injection', operator: 'DoesNotExist' },
            { key: 'istio.io/rev', operator: 'DoesNotExist' },
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'] },
          ],
        },
        { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
      ),
    );
  }
  return hooks;
}

/** istiod's own configuration, installed in istio-system: `values.revision` (empty: the default revision). */
export function istiodInjector(options: { revision: string; enableNamespacesByDefault: boolean }): Registered {
  const { revision, enableNamespacesByDefault } = options;
  return {
    injector: 'istiod',
    configuration: {
      metadata: { name: `istio-sidecar-injector${revision ? `-${revision}` : ''}` },
      webhooks: [...revisionWebhooks(revision || 'default'), ...(revision === '' ? defaultRevisionWebhooks(enableNamespacesByDefault) : [])],
    },
  };
}

/** A revision tag's configuration (`istioctl tag set <tag> --revision <rev>`, or the chart's `revisionTags`). */
export function istiodRevisionTag(tag: string, options: { enableNamespacesByDefault: boolean }): Registered {
  return {
    injector: 'istiod',
    configuration: {
      metadata: { name: `istio-revision-tag-${tag}` },
      webhooks: [...revisionWebhooks(tag), ...(tag === 'default' ? defaultRevisionWebhooks(options.enableNamespacesByDefault) : [])],
    },
  };
}

/** istioctl's DeactivateIstioInjectionWebhook: every webhook kept, its selectors made to match nothing. */
export function deactivated(registered: Registered): Registered {
  const never: LabelSelector = { matchLabels: { 'istio.io/deactivated': 'never-match' } };
  return {
    ...registered,
    configuration: { ...registered.configuration, webhooks: registered.configuration.webhooks.map((w) => ({ ...w, namespaceSelector: never, objectSelector: never })) },
  };
}
