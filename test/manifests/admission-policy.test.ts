/**
 * The ValidatingAdmissionPolicy that lets mesh-webhook's ServiceAccount change only caBundle in its webhook
 * configurations (manifests/base/admission-policy.yaml), evaluated the way the API server evaluates it: the rendered
 * policy's own CEL strings, run with @bufbuild/cel (standard CEL, which is all the policy may use) against the rendered
 * webhook configurations as the stored object.
 *
 * Kubernetes semantics reproduced here (k8s.io/apiserver pkg/admission/plugin/policy/validating/dispatcher.go):
 * matchConstraints and matchConditions select the request (all conditions true; a condition that errors denies under
 * failurePolicy Fail); then every validation must be true; one that is false denies with its message, one that errors
 * denies too (failurePolicy Fail); the client sees the first denial's message; binding validationActions [Deny].
 *
 * The webhook fields the policy must compare are read from the Kubernetes OpenAPI schema as kubernetes-models ships
 * it (its compiled validators, cross-checked with its type declarations): a new field in a future schema makes this
 * test fail until the policy compares it too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import type { CelInput, CelResult } from '@bufbuild/cel';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { validate as validateMutatingWebhook } from 'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1MutatingWebhook';
import { validate as validateValidatingWebhook } from 'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1ValidatingWebhook';
import { validate as validateWebhookClientConfig } from 'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1WebhookClientConfig';
import { ROOT, renderOverlay, type Obj } from './render.js';

// ---- the expected texts (written out: the policy must say exactly this) -------------------------------------------

const SA = 'system:serviceaccount:mesh-webhook:mesh-webhook';
const ONLY = "mesh-webhook's ServiceAccount may only change caBundle in the mesh-webhook webhook configurations";
const TAIL = '; mesh-webhook itself never sends such a change, so check who is using its token';
const MSG = {
  createDelete:
    "mesh-webhook's ServiceAccount may not create or delete webhook configurations: it only writes caBundle into the " +
    'existing mesh-webhook configurations, an administrator creates and deletes them' + TAIL,
  otherName:
    "mesh-webhook's ServiceAccount may only change caBundle in the webhook configurations named mesh-webhook, not in " +
    'other webhook configurations' + TAIL,
  count: `${ONLY}: it may not add or remove webhooks${TAIL}`,
  names: `${ONLY}: it may not rename or reorder webhooks${TAIL}`,
  field: (path: string) => `${ONLY}: webhooks[*].${path} must stay as it is${TAIL}`,
  meta: (field: string) => `${ONLY}: metadata.${field} must stay as they are${TAIL}`,
  failurePolicy:
    `${ONLY}: webhooks[*].failurePolicy may only change to the value of the annotation mesh-webhook.kyma-project.io/failure-policy; ` +
    'mesh-webhook itself never sends another change, so check who is using its token',
};

// ---- the rendered objects -------------------------------------------------------------------------------------------

interface Validation {
  expression: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
}
interface NamedRule {
  apiGroups?: string[];
  apiVersions?: string[];
  operations?: string[];
  resources?: string[];
  resourceNames?: string[];
}
interface PolicyView extends Obj {
  spec: {
    failurePolicy?: string;
    paramKind?: unknown;
    variables?: unknown;
    auditAnnotations?: unknown;
    matchConstraints: { resourceRules: NamedRule[]; excludeResourceRules?: unknown; namespaceSelector?: unknown; objectSelector?: unknown };
    matchConditions: { name: string; expression: string }[];
    validations: Validation[];
  };
}
interface BindingView extends Obj {
  spec: { policyName: string; validationActions: string[]; paramRef?: unknown; matchResources?: unknown };
}
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Webhook = { name: string; clientConfig: { caBundle?: string; service?: Record<string, Json>; url?: string } } & Record<string, Json>;
interface WebhookConfig {
  apiVersion: string;
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  metadata: Record<string, Json> & { name: string };
  webhooks?: Webhook[];
}

const objects = new Map<string, Obj[]>();
function rendered(overlay: string): Obj[] {
  let objs = objects.get(overlay);
  if (!objs) {
    objs = renderOverlay(overlay);
    objects.set(overlay, objs);
  }
  return objs;
}
function find<T>(overlay: string, kind: string, name: string): T {
  const found = rendered(overlay).filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${overlay}: exactly one ${kind} ${name}`).toHaveLength(1);
  return found[0] as T;
}
const policyOf = (overlay: string) => find<PolicyView>(overlay, 'ValidatingAdmissionPolicy', 'mesh-webhook-cabundle-only');
const bindingOf = (overlay: string) => find<BindingView>(overlay, 'ValidatingAdmissionPolicyBinding', 'mesh-webhook-cabundle-only');

/** The configuration as the API server stores it: the rendered one plus the server-set metadata. */
function stored(overlay: string, kind: WebhookConfig['kind']): WebhookConfig {
  const config = structuredClone(find<WebhookConfig>(overlay, kind, 'mesh-webhook'));
  Object.assign(config.metadata, {
    uid: '6f1c2a4e-0000-4000-8000-000000000001',
    resourceVersion: '1000',
    generation: 1,
    creationTimestamp: '2026-01-01T00:00:00Z',
    managedFields: [
      { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'admissionregistration.k8s.io/v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:webhooks': {} } },
    ],
  });
  return config;
}

// ---- evaluation, as the API server does it -------------------------------------------------------------------------

/** JSON as CEL sees Kubernetes objects: objects are maps, integers are ints (int64), null stays null. */
function toCel(value: unknown): CelInput {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  return value as CelInput;
}

const PLURAL: Record<WebhookConfig['kind'], string> = {
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
};

interface Request {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  kind: WebhookConfig['kind'];
  name: string;
  username?: string;
  groups?: string[];
}
interface Outcome {
  /** Whether the policy applied to the request at all (matchConstraints and matchConditions). */
  applies: boolean;
  allowed: boolean;
  /** The message the client gets (the first denial), when denied. */
  message?: string;
  /** Every failed validation, in order, with the CEL error when it was one. */
  failures: { index: number; message: string; error?: string }[];
}

const matchesRule = (rules: NamedRule[], group: string, version: string, resource: string, op: string, name: string) =>
  rules.some((r) => {
    const has = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);
    const named = r.resourceNames === undefined || r.resourceNames.length === 0 || r.resourceNames.includes(name);
    return has(r.apiGroups, group) && has(r.apiVersions, version) && has(r.resources, resource) && has(r.operations, op) && named;
  });

/** Standard CEL: the default environment, no extension functions. Each expression is parsed and planned once. */
const env = celEnv();
const programs = new Map<string, (vars: Record<string, CelInput>) => CelResult>();
function evaluate(expression: string, vars: Record<string, CelInput>): { value?: unknown; error?: string } {
  let program = programs.get(expression);
  if (!program) {
    program = plan(env, parse(expression)) as (vars: Record<string, CelInput>) => CelResult;
    programs.set(expression, program);
  }
  let result: CelResult;
  try {
    result = program(vars);
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (isCelError(result)) return { error: result.message };
  return { value: result };
}

function admit(overlay: string, req: Request, object: WebhookConfig | null, oldObject: WebhookConfig | null): Outcome {
  const policy = policyOf(overlay);
  const binding = bindingOf(overlay);
  expect(binding.spec.policyName).toBe(policy.metadata.name);
  const failClosed = (policy.spec.failurePolicy ?? 'Fail') === 'Fail';
  const resource = PLURAL[req.kind];
  if (!matchesRule(policy.spec.matchConstraints.resourceRules, 'admissionregistration.k8s.io', 'v1', resource, req.operation, req.name)) {
    return { applies: false, allowed: true, failures: [] };
  }
  const request = {
    uid: 'a1b2c3d4-0000-4000-8000-000000000002',
    kind: { group: 'admissionregistration.k8s.io', version: 'v1', kind: req.kind },
    resource: { group: 'admissionregistration.k8s.io', version: 'v1', resource },
    requestKind: { group: 'admissionregistration.k8s.io', version: 'v1', kind: req.kind },
    requestResource: { group: 'admissionregistration.k8s.io', version: 'v1', resource },
    name: req.name,
    operation: req.operation,
    userInfo: { username: req.username ?? SA, groups: req.groups ?? ['system:serviceaccounts', 'system:serviceaccounts:mesh-webhook', 'system:authenticated'] },
    dryRun: false,
  };
  const vars: Record<string, CelInput> = {
    request: toCel(request),
    object: toCel(object),
    oldObject: toCel(oldObject),
    params: null,
    namespaceObject: null,
  };
  for (const condition of policy.spec.matchConditions) {
    const { value, error } = evaluate(condition.expression, vars);
    if (error !== undefined) {
      const message = `matchCondition '${condition.name}' resulted in error: ${error}`;
      return failClosed ? { applies: true, allowed: false, message, failures: [{ index: -1, message, error }] } : { applies: false, allowed: true, failures: [] };
    }
    if (value !== true) return { applies: false, allowed: true, failures: [] };
  }
  const failures: Outcome['failures'] = [];
  policy.spec.validations.forEach((v, index) => {
    const { value, error } = evaluate(v.expression, vars);
    if (error !== undefined) {
      if (failClosed) failures.push({ index, message: `expression '${v.expression}' resulted in error: ${error}`, error });
    } else if (value !== true) {
      failures.push({ index, message: v.message ?? `failed expression: ${v.expression}` });
    }
  });
  const deny = binding.spec.validationActions.includes('Deny') && failures.length > 0;
  return { applies: true, allowed: !deny, ...(deny ? { message: failures[0]!.message } : {}), failures };
}

/** An UPDATE by `username` (default: the ServiceAccount) from `old` to `change(copy of old)`. */
function update(overlay: string, old: WebhookConfig, change: (c: WebhookConfig) => void, username?: string): Outcome {
  const object = structuredClone(old);
  change(object);
  return admit(overlay, { operation: 'UPDATE', kind: old.kind, name: old.metadata.name, ...(username ? { username } : {}) }, object, old);
}

function expectAllowed(outcome: Outcome): void {
  expect(outcome.failures, 'no validation failed').toEqual([]);
  expect(outcome.allowed).toBe(true);
}
function expectDenied(outcome: Outcome, message: string): void {
  expect(outcome.applies).toBe(true);
  expect(outcome.allowed).toBe(false);
  expect(outcome.message).toBe(message);
  // Denied by a validation that evaluated to false, never by an evaluation error.
  expect(outcome.failures.filter((f) => f.error !== undefined), 'no CEL errors').toEqual([]);
}

// Base64 PEM-ish bundles: the policy does not look at the value.
const CA_A = Buffer.from('-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n').toString('base64');
const CA_B = Buffer.from('-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n').toString('base64');

/** What the service's own JSON patch does (src/certs/caBundle.ts) plus what the API server adds on the update. */
function serviceWritesCaBundle(c: WebhookConfig, ca: string): void {
  for (const w of c.webhooks ?? []) w.clientConfig.caBundle = ca;
  c.metadata.resourceVersion = '1001';
  c.metadata.generation = 2;
  (c.metadata.managedFields as Json[]).push({ manager: 'mesh-webhook', operation: 'Update', apiVersion: 'admissionregistration.k8s.io/v1', time: '2026-01-02T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:webhooks': {} } });
}

const KINDS: WebhookConfig['kind'][] = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];
const OVERLAYS = ['kyma', 'staging', 'cert-manager'];
const firstWebhook = (c: WebhookConfig): Webhook => c.webhooks![0]!;

// ---- the objects ----------------------------------------------------------------------------------------------------

describe('the policy objects', () => {
  it('are valid against the admissionregistration.k8s.io/v1 schemas and identical in every overlay', () => {
    for (const overlay of OVERLAYS) {
      expect(() => new ValidatingAdmissionPolicy(policyOf(overlay) as never).validate()).not.toThrow();
      expect(() => new ValidatingAdmissionPolicyBinding(bindingOf(overlay) as never).validate()).not.toThrow();
      expect(policyOf(overlay)).toEqual(policyOf('kyma'));
      expect(bindingOf(overlay)).toEqual(bindingOf('kyma'));
    }
  });

  it('match the ServiceAccount\'s CREATE/UPDATE/DELETE of both kinds, fail closed, and deny', () => {
    const policy = policyOf('kyma');
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.paramKind).toBeUndefined();
    expect(policy.spec.matchConstraints).toEqual({
      resourceRules: [
        {
          apiGroups: ['admissionregistration.k8s.io'],
          apiVersions: ['*'],
          operations: ['CREATE', 'UPDATE', 'DELETE'],
          resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
        },
      ],
    });
    expect(policy.spec.matchConditions).toEqual([
      { name: 'mesh-webhook-service-account', expression: `request.userInfo.username == '${SA}'` },
    ]);
    const binding = bindingOf('kyma');
    expect(binding.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(binding.spec).toEqual({ policyName: 'mesh-webhook-cabundle-only', validationActions: ['Deny'] });
  });

  it('says in every message what mesh-webhook\'s ServiceAccount may not do, with reason Forbidden', () => {
    for (const v of policyOf('kyma').spec.validations) {
      expect(v.message).toMatch(/^mesh-webhook's ServiceAccount may (only change caBundle|not create or delete)/);
      expect(v.message).not.toMatch(/\n/); // the API server rejects line breaks in messages
      expect(v.messageExpression).toBeUndefined();
      expect(v.reason).toBe('Forbidden');
    }
  });

  it('uses only standard CEL functions and macros (no Kubernetes library), so this test evaluates what the API server does', () => {
    const STANDARD = new Set(['has', 'size', 'all', 'exists', 'exists_one', 'map', 'filter']);
    const policy = policyOf('kyma');
    const expressions = [...policy.spec.validations.map((v) => v.expression), ...policy.spec.matchConditions.map((c) => c.expression)];
    const called = new Set(expressions.flatMap((e) => [...e.matchAll(/([A-Za-z_][\w]*)\s*\(/g)].map((m) => m[1]!)));
    expect([...called].filter((f) => !STANDARD.has(f))).toEqual([]);
    // And every expression parses and evaluates here (a syntax error would show up as an error on a plain update).
    expect(called.size).toBeGreaterThan(2);
  });
});

// ---- who the policy applies to -------------------------------------------------------------------------------------

describe('matchConditions: only mesh-webhook\'s ServiceAccount', () => {
  const widen = (c: WebhookConfig) => {
    firstWebhook(c).rules = [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], scope: '*' }];
  };

  it.each(KINDS)('applies to %s changes by system:serviceaccount:mesh-webhook:mesh-webhook', (kind) => {
    const outcome = update('kyma', stored('kyma', kind), widen);
    expect(outcome.applies).toBe(true);
    expect(outcome.allowed).toBe(false);
  });

  it.each([
    ['another namespace\'s ServiceAccount of the same name', 'system:serviceaccount:other:mesh-webhook', ['system:serviceaccounts', 'system:authenticated']],
    ['another ServiceAccount in mesh-webhook', 'system:serviceaccount:mesh-webhook:default', ['system:serviceaccounts', 'system:authenticated']],
    ['a cluster admin', 'kubernetes-admin', ['system:masters', 'system:authenticated']],
    ['cert-manager\'s cainjector', 'system:serviceaccount:cert-manager:cert-manager-cainjector', ['system:serviceaccounts', 'system:authenticated']],
  ])('does not apply to %s (%s)', (_what, username, groups) => {
    for (const kind of KINDS) {
      const old = stored('kyma', kind);
      const object = structuredClone(old);
      widen(object);
      const outcome = admit('kyma', { operation: 'UPDATE', kind, name: 'mesh-webhook', username, groups }, object, old);
      expect(outcome).toEqual({ applies: false, allowed: true, failures: [] });
    }
  });
});

// ---- what the service does: allowed ------------------------------------------------------------------------------

describe.each(OVERLAYS)('overlay %s: what the service itself does is allowed', (overlay) => {
  it.each(KINDS)('%s: caBundle added to every webhook (with the new resourceVersion, generation and managedFields)', (kind) => {
    const old = stored(overlay, kind);
    expect(firstWebhook(old).clientConfig.caBundle).toBeUndefined();
    expectAllowed(update(overlay, old, (c) => serviceWritesCaBundle(c, CA_A)));
  });

  it.each(KINDS)('%s: caBundle replaced (CA rollover)', (kind) => {
    const old = stored(overlay, kind);
    serviceWritesCaBundle(old, CA_A);
    expectAllowed(update(overlay, old, (c) => serviceWritesCaBundle(c, CA_A + CA_B)));
    expectAllowed(update(overlay, old, (c) => serviceWritesCaBundle(c, CA_B)));
  });

  it.each(KINDS)('%s: only resourceVersion and managedFields change, or nothing', (kind) => {
    const old = stored(overlay, kind);
    expectAllowed(update(overlay, old, (c) => {
      c.metadata.resourceVersion = '2000';
      c.metadata.managedFields = [];
    }));
    expectAllowed(update(overlay, old, () => undefined));
  });
});

// ---- what a stolen token would do: denied --------------------------------------------------------------------------

describe('forbidden changes by the ServiceAccount are denied with a message saying what', () => {
  type Case = [string, WebhookConfig['kind'], (c: WebhookConfig) => void, string];
  const M: WebhookConfig['kind'] = 'MutatingWebhookConfiguration';
  const V: WebhookConfig['kind'] = 'ValidatingWebhookConfiguration';
  const w = firstWebhook;
  const cases: Case[] = [
    ['rules widened to every resource', M, (c) => { (w(c).rules as { resources: string[] }[])[0]!.resources = ['*']; }, MSG.field('rules')],
    ['rules widened to every API group', M, (c) => { (w(c).rules as { apiGroups: string[] }[])[0]!.apiGroups = ['*']; }, MSG.field('rules')],
    ['a rule operation added', M, (c) => { (w(c).rules as { operations: string[] }[])[0]!.operations.push('UPDATE'); }, MSG.field('rules')],
    ['a rule added (secrets)', V, (c) => { (w(c).rules as Json[]).push({ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['secrets'], scope: '*' }); }, MSG.field('rules')],
    ['namespaceSelector dropped', M, (c) => { delete w(c).namespaceSelector; }, MSG.field('namespaceSelector')],
    ['namespaceSelector emptied', V, (c) => { w(c).namespaceSelector = {}; }, MSG.field('namespaceSelector')],
    ['namespaceSelector no longer excludes kube-system', M, (c) => {
      const sel = w(c).namespaceSelector as { matchExpressions: { values: string[] }[] };
      sel.matchExpressions[0]!.values = sel.matchExpressions[0]!.values.filter((v) => v !== 'kube-system');
    }, MSG.field('namespaceSelector')],
    ['objectSelector dropped', M, (c) => { delete w(c).objectSelector; }, MSG.field('objectSelector')],
    ['objectSelector added', V, (c) => { w(c).objectSelector = { matchLabels: { a: 'b' } }; }, MSG.field('objectSelector')],
    ['clientConfig.service.name changed', M, (c) => { w(c).clientConfig.service!.name = 'evil'; }, MSG.field('clientConfig.service')],
    ['clientConfig.service.namespace changed', M, (c) => { w(c).clientConfig.service!.namespace = 'evil'; }, MSG.field('clientConfig.service')],
    ['clientConfig.service.path changed', V, (c) => { w(c).clientConfig.service!.path = '/other'; }, MSG.field('clientConfig.service')],
    ['clientConfig.service.port changed', M, (c) => { w(c).clientConfig.service!.port = 8443; }, MSG.field('clientConfig.service')],
    ['clientConfig.url set beside the service', M, (c) => { w(c).clientConfig.url = 'https://attacker.example/inject'; }, MSG.field('clientConfig.url')],
    ['clientConfig.url instead of the service', M, (c) => {
      delete w(c).clientConfig.service;
      w(c).clientConfig.url = 'https://attacker.example/inject';
    }, MSG.field('clientConfig.url')],
    ['caBundle set together with a widened rule', M, (c) => {
      serviceWritesCaBundle(c, CA_A);
      (w(c).rules as { resources: string[] }[])[0]!.resources = ['*'];
    }, MSG.field('rules')],
    // Annotated Ignore on the validating webhook (kyma): Fail is not the annotated value.
    ['failurePolicy Fail on the validating webhook', V, (c) => { w(c).failurePolicy = 'Fail'; }, MSG.failurePolicy],
    ['timeoutSeconds changed', M, (c) => { w(c).timeoutSeconds = 30; }, MSG.field('timeoutSeconds')],
    ['timeoutSeconds removed', V, (c) => { delete w(c).timeoutSeconds; }, MSG.field('timeoutSeconds')],
    ['sideEffects changed', M, (c) => { w(c).sideEffects = 'Some'; }, MSG.field('sideEffects')],
    ['matchPolicy changed', M, (c) => { w(c).matchPolicy = 'Exact'; }, MSG.field('matchPolicy')],
    ['admissionReviewVersions changed', V, (c) => { w(c).admissionReviewVersions = ['v1', 'v1beta1']; }, MSG.field('admissionReviewVersions')],
    ['reinvocationPolicy changed', M, (c) => { w(c).reinvocationPolicy = 'Never'; }, MSG.field('reinvocationPolicy')],
    ['matchConditions added', M, (c) => { w(c).matchConditions = [{ name: 'skip-mine', expression: "object.metadata.namespace != 'victim'" }]; }, MSG.field('matchConditions')],
    ['a webhook added', M, (c) => { c.webhooks!.push({ ...structuredClone(w(c)), name: 'second.mesh-webhook.kyma-project.io' }); }, MSG.count],
    ['the webhook removed (empty list)', V, (c) => { c.webhooks = []; }, MSG.count],
    ['the webhook removed (no list)', M, (c) => { delete c.webhooks; }, MSG.count],
    ['the webhook renamed', V, (c) => { w(c).name = 'renamed.mesh-webhook.kyma-project.io'; }, MSG.names],
    ['a label changed', M, (c) => { (c.metadata.labels as Record<string, string>)['app.kubernetes.io/name'] = 'other'; }, MSG.meta('labels')],
    ['a label added', V, (c) => { (c.metadata.labels as Record<string, string>).extra = 'x'; }, MSG.meta('labels')],
    ['the labels removed', M, (c) => { delete c.metadata.labels; }, MSG.meta('labels')],
    ['an annotation added', M, (c) => { c.metadata.annotations = { ...(c.metadata.annotations as Record<string, string> | undefined), x: 'y' }; }, MSG.meta('annotations')],
    ['ownerReferences added', V, (c) => {
      c.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Namespace', name: 'mesh-webhook', uid: '6f1c2a4e-0000-4000-8000-000000000003' }];
    }, MSG.meta('ownerReferences')],
    ['finalizers added', M, (c) => { c.metadata.finalizers = ['example.com/keep']; }, MSG.meta('finalizers')],
  ];

  it.each(cases)('%s (%s)', (_what, kind, change, message) => {
    expectDenied(update('kyma', stored('kyma', kind), change), message);
  });

  it('webhooks reordered (a configuration with two webhooks)', () => {
    const old = stored('kyma', M);
    old.webhooks!.push({ ...structuredClone(firstWebhook(old)), name: 'second.mesh-webhook.kyma-project.io' });
    expectAllowed(update('kyma', old, (c) => serviceWritesCaBundle(c, CA_A)));
    expectDenied(update('kyma', old, (c) => c.webhooks!.reverse()), MSG.names);
    // The second webhook is compared too, not only the first.
    expectDenied(update('kyma', old, (c) => { c.webhooks![1]!.timeoutSeconds = 30; }), MSG.field('timeoutSeconds'));
  });

  describe('failurePolicy: only to the annotated value (the service switches it once ready)', () => {
    it('the manifests register Ignore and annotate the policy: Fail for injection, Ignore for validation (Fail in staging)', () => {
      for (const overlay of OVERLAYS) {
        for (const kind of KINDS) expect(firstWebhook(stored(overlay, kind)).failurePolicy, `${overlay} ${kind}`).toBe('Ignore');
      }
      const annotated = (overlay: string, kind: WebhookConfig['kind']) =>
        (stored(overlay, kind).metadata.annotations as Record<string, string>)['mesh-webhook.kyma-project.io/failure-policy'];
      expect([annotated('kyma', M), annotated('kyma', V), annotated('staging', M), annotated('staging', V), annotated('cert-manager', M)]).toEqual([
        'Fail',
        'Ignore',
        'Fail',
        'Fail',
        'Fail',
      ]);
    });

    it.each(OVERLAYS)('%s: Ignore to the annotated Fail is allowed, with the caBundle or alone', (overlay) => {
      const old = stored(overlay, M);
      expectAllowed(update(overlay, old, (c) => { w(c).failurePolicy = 'Fail'; }));
      expectAllowed(update(overlay, old, (c) => { serviceWritesCaBundle(c, CA_A); w(c).failurePolicy = 'Fail'; }));
    });

    it('Fail back to Ignore against the annotation is denied; so is removing the field', () => {
      const switched = stored('kyma', M);
      w(switched).failurePolicy = 'Fail';
      expectDenied(update('kyma', switched, (c) => { w(c).failurePolicy = 'Ignore'; }), MSG.failurePolicy);
      expectDenied(update('kyma', switched, (c) => { delete w(c).failurePolicy; }), MSG.failurePolicy);
      // Nor may the annotation be changed to make Ignore the annotated value.
      expectDenied(
        update('kyma', switched, (c) => {
          (c.metadata.annotations as Record<string, string>)['mesh-webhook.kyma-project.io/failure-policy'] = 'Ignore';
          w(c).failurePolicy = 'Ignore';
        }),
        MSG.meta('annotations'),
      );
    });

    it('staging: the validating webhook may be switched to its annotated Fail', () => {
      expectAllowed(update('staging', stored('staging', V), (c) => { w(c).failurePolicy = 'Fail'; }));
    });
  });

  it('cert-manager overlay: the cainjector annotation cannot be removed by the ServiceAccount', () => {
    const old = stored('cert-manager', M);
    expect(old.metadata.annotations).toEqual({
      'cert-manager.io/inject-ca-from': 'mesh-webhook/mesh-webhook-serving',
      'mesh-webhook.kyma-project.io/failure-policy': 'Fail',
    });
    expectDenied(update('cert-manager', old, (c) => { delete c.metadata.annotations; }), MSG.meta('annotations'));
  });

  it.each(KINDS)('%s: CREATE and DELETE are denied', (kind) => {
    const config = stored('kyma', kind);
    expectDenied(admit('kyma', { operation: 'CREATE', kind, name: 'mesh-webhook' }, config, null), MSG.createDelete);
    expectDenied(admit('kyma', { operation: 'CREATE', kind, name: 'evil' }, { ...config, metadata: { ...config.metadata, name: 'evil' } }, null), MSG.createDelete);
    expectDenied(admit('kyma', { operation: 'DELETE', kind, name: 'mesh-webhook' }, null, config), MSG.createDelete);
  });

  it.each(KINDS)('%s: another configuration may not be changed at all, not even its caBundle', (kind) => {
    const other = stored('kyma', kind);
    other.metadata.name = 'istio-sidecar-injector';
    expectDenied(update('kyma', other, (c) => serviceWritesCaBundle(c, CA_A)), MSG.otherName);
  });
});

// ---- every field of the schema is compared ------------------------------------------------------------------------

const SCHEMAS = join(ROOT, 'node_modules', 'kubernetes-models', '_schemas');
const MODELS = join(ROOT, 'node_modules', 'kubernetes-models', 'admissionregistration.k8s.io', 'v1');
type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string }[] | null };

/**
 * The properties a compiled kubernetes-models schema validator knows, read from its code (ajv's standalone output
 * checks `data.<property>` for each declared property; `missingProperty` lists the required ones) and confirmed by
 * asking the validator: a declared property with a value of no JSON type it accepts is an error at `/<property>`.
 */
function schemaProperties(schemaModule: string, validate: Validator, valid: Record<string, unknown>): string[] {
  const code = readFileSync(join(SCHEMAS, `${schemaModule}.js`), 'utf8');
  const candidates = new Set([...code.matchAll(/\bdata\.([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!));
  for (const m of code.matchAll(/missingProperty:"([^"]+)"/g)) candidates.add(m[1]!);
  expect(validate(valid), `${schemaModule}: the sample is valid`).toBe(true);
  const declared = [...candidates].filter((p) => {
    validate({ ...valid, [p]: 0.5 });
    return (validate.errors ?? []).some((e) => e.instancePath === `/${p}` || e.instancePath.startsWith(`/${p}/`));
  });
  // The probe can tell: an undeclared property is accepted, whatever its value.
  expect(validate({ ...valid, 'not-a-property': 0.5 })).toBe(true);
  return declared.sort();
}

/** The same properties from the package's generated type declaration (`export interface IName { "prop"?: ... }`). */
function declaredInterfaceProperties(file: string, iface: string): string[] {
  const text = readFileSync(join(MODELS, file), 'utf8');
  const body = new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? '';
  return [...body.matchAll(/^\s*"([^"]+)"\??:/gm)].map((m) => m[1]!).sort();
}

/** A value of the same JSON shape that differs from `v`. */
function differentValue(v: Json): Json {
  if (typeof v === 'string') return `${v}-changed`;
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'boolean') return !v;
  if (Array.isArray(v)) return [...v, v.length > 0 ? structuredClone(v[0]!) : 'added-by-test'];
  if (v !== null && typeof v === 'object') return { ...v, 'added-by-test': 'x' };
  return 'added-by-test';
}

describe.each([
  ['MutatingWebhookConfiguration', 'IoK8sApiAdmissionregistrationV1MutatingWebhook', validateMutatingWebhook, 'MutatingWebhook.d.ts', 'IMutatingWebhook'],
  ['ValidatingWebhookConfiguration', 'IoK8sApiAdmissionregistrationV1ValidatingWebhook', validateValidatingWebhook, 'ValidatingWebhook.d.ts', 'IValidatingWebhook'],
] as const)('%s: every webhook field of the Kubernetes schema is compared', (kind, schemaModule, validate, dts, iface) => {
  const old = () => stored('kyma', kind);
  const properties = () => schemaProperties(schemaModule, validate as Validator, firstWebhook(old()));

  it('reads the webhook properties from the schema (the validator and the type declarations agree)', () => {
    const props = properties();
    expect(props).toEqual(declaredInterfaceProperties(dts, iface));
    // The fields this policy was written against are all there (a broken reader would find fewer).
    for (const p of ['name', 'clientConfig', 'rules', 'failurePolicy', 'matchPolicy', 'namespaceSelector', 'objectSelector', 'sideEffects', 'timeoutSeconds', 'admissionReviewVersions', 'matchConditions']) {
      expect(props).toContain(p);
    }
    expect(props.includes('reinvocationPolicy')).toBe(kind === 'MutatingWebhookConfiguration');
  });

  it('denies a change, a removal or an addition of every property but name and clientConfig, naming the field', () => {
    const base = old();
    const checked: string[] = [];
    for (const p of properties()) {
      if (p === 'name' || p === 'clientConfig') continue;
      const present = Object.hasOwn(firstWebhook(base), p);
      const variants: [string, (c: WebhookConfig) => void][] = present
        ? [
            ['changed', (c) => { firstWebhook(c)[p] = differentValue(firstWebhook(c)[p]!); }],
            ['removed', (c) => { delete firstWebhook(c)[p]; }],
          ]
        : [['added', (c) => { firstWebhook(c)[p] = 'added-by-test'; }]];
      for (const [how, change] of variants) {
        const outcome = update('kyma', base, change);
        expect(outcome.allowed, `webhooks[0].${p} ${how}: denied`).toBe(false);
        // failurePolicy: changed to a value the annotation does not name (Ignore-changed), or removed.
        expect(outcome.message, `webhooks[0].${p} ${how}: the message names the field`).toBe(p === 'failurePolicy' ? MSG.failurePolicy : MSG.field(p));
        expect(outcome.failures.filter((f) => f.error !== undefined), `webhooks[0].${p} ${how}: no CEL error`).toEqual([]);
      }
      checked.push(p);
    }
    expect(checked.length).toBeGreaterThanOrEqual(9);
  });

  it('name: a rename is denied', () => {
    expectDenied(update('kyma', old(), (c) => { firstWebhook(c).name = 'x.example.com'; }), MSG.names);
  });

  it('clientConfig: every property but caBundle is compared; caBundle may be added, changed and removed', () => {
    const base = old();
    const clientConfig = firstWebhook(base).clientConfig as Record<string, Json>;
    const props = schemaProperties('IoK8sApiAdmissionregistrationV1WebhookClientConfig', validateWebhookClientConfig as Validator, clientConfig);
    expect(props).toEqual(declaredInterfaceProperties('WebhookClientConfig.d.ts', 'IWebhookClientConfig'));
    expect(props).toEqual(expect.arrayContaining(['caBundle', 'service', 'url']));
    for (const p of props) {
      const present = Object.hasOwn(clientConfig, p);
      const change = (c: WebhookConfig) => {
        const cc = firstWebhook(c).clientConfig as Record<string, Json>;
        cc[p] = present ? differentValue(cc[p]!) : p === 'caBundle' ? CA_A : 'added-by-test';
      };
      const outcome = update('kyma', base, change);
      if (p === 'caBundle') {
        expectAllowed(outcome);
        const withCa = structuredClone(base);
        firstWebhook(withCa).clientConfig.caBundle = CA_A;
        expectAllowed(update('kyma', withCa, (c) => { firstWebhook(c).clientConfig.caBundle = CA_B; }));
        expectAllowed(update('kyma', withCa, (c) => { delete firstWebhook(c).clientConfig.caBundle; }));
      } else {
        expectDenied(outcome, MSG.field(`clientConfig.${p}`));
        if (present) expectDenied(update('kyma', base, (c) => { delete (firstWebhook(c).clientConfig as Record<string, Json>)[p]; }), MSG.field(`clientConfig.${p}`));
      }
    }
  });
});
