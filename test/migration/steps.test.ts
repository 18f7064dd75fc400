/**
 * Moving a cluster from istiod's injector to mesh-webhook and back (docs/migration.md), step by step, over every
 * combination of the labels that choose an injector: namespace `istio-injection` (enabled, disabled, absent) and
 * `istio.io/rev`, pod `sidecar.istio.io/inject` (true, false, absent) and `istio.io/rev`, each revision label one of
 * default, mesh-webhook (the canary), istio-gateways (the revision tag gateways move to), other (nobody's), or absent.
 *
 * istiod's webhooks are Istio's chart as data (./istioWebhooks.ts); mesh-webhook's are our manifests as kustomize
 * renders them (base, components/opt-in-injection, components/canary), and its decision is the injector the rendered
 * Deployment runs (the shipped config.yaml with the Deployment's arguments, namespace labels known as from its
 * cache). At every step and in every window between two steps:
 *
 * - at most one webhook, so at most one injector, selects a pod (no double injection);
 * - mesh-webhook injects exactly the pods its webhooks select and Istio's webhooks for the revision it serves would
 *   select (for the canary and opt-in manifests that is exactly what its webhooks select);
 * - a pod gets a sidecar exactly when it got one before the migration, except for pods labelled with the canary's or
 *   the gateways' revision, which the migration introduces, and except in the windows, whose pods without a sidecar
 *   are listed (they get one when restarted at the next step).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.js';
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import type { Pod } from '../../src/k8s/types.js';
import { selectorMatches } from '../k8s/mutatingAdmission.js';
import { renderComposition, type Obj } from '../manifests/render.js';
import { deactivated, istiodInjector, istiodRevisionTag, type Injector, type Registered, type WebhookConfiguration } from './istioWebhooks.js';

type Labels = Record<string, string>;

// ---- the label space ----------------------------------------------------------------------------------------------

const CANARY = 'mesh-webhook';
const GATEWAYS = 'istio-gateways';
const NAMESPACE = 'shop';

interface Combination {
  ns: Labels;
  pod: Labels;
}

/** Every namespace × pod combination of the injection labels (revision values: `revisions`, or absent). */
function combinations(revisions: readonly string[]): Combination[] {
  const out: Combination[] = [];
  const opt = (key: string, values: readonly (string | undefined)[]) => values.map((v) => (v === undefined ? {} : { [key]: v }));
  for (const injection of opt('istio-injection', ['enabled', 'disabled', undefined]))
    for (const nsRev of opt('istio.io/rev', [...revisions, undefined]))
      for (const inject of opt('sidecar.istio.io/inject', ['true', 'false', undefined]))
        for (const podRev of opt('istio.io/rev', [...revisions, undefined])) {
          out.push({ ns: { 'kubernetes.io/metadata.name': NAMESPACE, ...injection, ...nsRev }, pod: { app: 'web', ...inject, ...podRev } });
        }
  return out;
}

const show = (c: Combination) => {
  const { 'kubernetes.io/metadata.name': _name, ...ns } = c.ns;
  const { app: _app, ...pod } = c.pod;
  return `namespace ${JSON.stringify(ns)} pod ${JSON.stringify(pod)}`;
};

/** Whether a pod carries one of the labels the migration introduces (its own revisions). */
const introduced = (c: Combination, revisions: readonly string[]) =>
  revisions.some((r) => c.ns['istio.io/rev'] === r || c.pod['istio.io/rev'] === r);

// ---- mesh-webhook as rendered -------------------------------------------------------------------------------------

let dir: string;

interface Ours {
  registered: Registered;
  /** The injector as the rendered Deployment runs it, with the namespace's labels known. */
  injects(c: Combination): { injected: boolean; reason: string };
}

const MWC = (objs: Obj[]) => objs.find((o) => o.kind === 'MutatingWebhookConfiguration') as unknown as WebhookConfiguration;
const deploymentArgs = (objs: Obj[]) =>
  (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } }).spec.template.spec.containers.find(
    (c) => c.name === 'mesh-webhook',
  )!.args;
const configYaml = (objs: Obj[]) => (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mesh-webhook-config') as unknown as { data: Record<string, string> }).data['config.yaml']!;

/**
 * mesh-webhook installed from `components` over the base: its webhook configuration, and its decision with the
 * Deployment's arguments (`extraArgs` appended, as an operator's overlay would) and the shipped config.yaml.
 */
function installed(components: string[], extraArgs: string[] = [], configurationFrom?: string[]): Ours {
  const objs = renderComposition(['base'], components);
  const configFile = join(dir, `config-${components.join('+').replaceAll('/', '_') || 'base'}-${extraArgs.join('_').replace(/[^\w.-]/g, '_')}.yaml`);
  writeFileSync(configFile, configYaml(objs));
  const args = [...deploymentArgs(configurationFrom ? renderComposition(['base'], configurationFrom) : objs), ...extraArgs];
  const inv = parseCommandLine(args);
  if (inv.command !== 'serve') throw new Error(`the Deployment runs ${inv.command}`);
  const config = loadConfig({ ...inv.args.config, configFile });
  let current: Labels = {};
  const injector = createInjector(config, { namespaceLabels: (ns) => (ns === NAMESPACE ? current : undefined), nativeSidecarsSupported: () => true });
  return {
    registered: { injector: 'mesh-webhook', configuration: MWC(objs) },
    injects(c) {
      current = c.ns;
      const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: c.pod }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
      const o = injector.inject({ pod, namespace: NAMESPACE });
      if (o.kind === 'rejected') throw new Error(`${show(c)}: rejected: ${o.message}`);
      return { injected: o.kind === 'injected', reason: o.reason };
    },
  };
}

// ---- one state of the cluster -------------------------------------------------------------------------------------

interface State {
  name: string;
  istiod: Registered[];
  ours?: Ours;
  /**
   * Istio's webhooks for the revision mesh-webhook's decision serves: what it must agree with where its own
   * (broader, on-by-default) webhooks send more. Default: its own webhooks.
   */
  oursEquivalent?: Registered;
  /**
   * A window during a rollout: the webhook configuration and the replica answering come from different steps. Then
   * mesh-webhook may skip what its webhooks send, but never injects what `oursEquivalent` does not select.
   */
  window?: boolean;
  /**
   * mesh-webhook runs the base manifests (one webhook, on by default, selecting every namespace that does not opt
   * out), so it also receives the pods another revision's istiod webhooks select (the gateways tag), and skips them.
   */
  sharedWithOtherRevisions?: boolean;
}

interface Admission {
  /** Every webhook that selects the pod: `<injector> <configuration>/<webhook>`. */
  selectedBy: string[];
  /**
   * Who injects: istiod when one of its webhooks selects (its injectRequired injects every pod its selectors send
   * here: no annotations, policy enabled); mesh-webhook when one of its webhooks selects and its decision injects;
   * `both` when both do (double injection).
   */
  sidecar: Injector | 'both' | undefined;
  /** mesh-webhook was sent the pod and skipped it, with this reason. */
  skippedByOurs?: string;
}

const isPodCreate = (w: WebhookConfiguration['webhooks'][number]) =>
  (w.rules ?? []).some((r) => r.operations.includes('CREATE') && r.apiGroups.includes('') && r.apiVersions.includes('v1') && r.resources.includes('pods'));

function selecting(registered: Registered, c: Combination): string[] {
  return registered.configuration.webhooks
    .filter((w) => isPodCreate(w) && selectorMatches(w.namespaceSelector, c.ns) && selectorMatches(w.objectSelector, c.pod))
    .map((w) => `${registered.injector} ${registered.configuration.metadata.name}/${w.name}`);
}

function admit(state: State, c: Combination): Admission {
  const byIstiod = state.istiod.flatMap((r) => selecting(r, c));
  const byOurs = state.ours ? selecting(state.ours.registered, c) : [];
  const selectedBy = [...byIstiod, ...byOurs];
  const ours = state.ours && byOurs.length > 0 ? state.ours.injects(c) : undefined;
  const sidecar = byIstiod.length > 0 ? (ours?.injected ? 'both' : 'istiod') : ours?.injected ? 'mesh-webhook' : undefined;
  return { selectedBy, sidecar, ...(ours && !ours.injected ? { skippedByOurs: ours.reason } : {}) };
}

/** The invariants of one state over every combination; returns the admissions for the step comparisons. */
function checkState(state: State, space: Combination[]): Map<Combination, Admission> {
  const results = new Map<Combination, Admission>();
  const problems: string[] = [];
  for (const c of space) {
    const a = admit(state, c);
    results.set(c, a);
    if (a.sidecar === 'both') problems.push(`${show(c)}: injected twice, selected by ${a.selectedBy.join(' and ')}`);
    // Two webhooks selecting one pod: only where mesh-webhook's single on-by-default webhook (base) meets another
    // revision's istiod webhook, and mesh-webhook skips the pod there.
    if (a.selectedBy.length > 1 && !(state.sharedWithOtherRevisions && a.selectedBy.length === 2 && a.skippedByOurs !== undefined)) {
      problems.push(`${show(c)}: selected by ${a.selectedBy.join(' and ')}`);
    }
    if (state.ours) {
      const ours = selecting(state.ours.registered, c).length > 0;
      const equivalent = selecting(state.oursEquivalent ?? state.ours.registered, c).length > 0;
      const injected = a.sidecar === 'mesh-webhook';
      if (injected && !equivalent) problems.push(`${show(c)}: mesh-webhook injects a pod Istio's webhooks for its revision do not select`);
      if (!state.window && ours && !a.selectedBy.some((s) => s.startsWith('istiod ')) && injected !== equivalent) {
        problems.push(`${show(c)}: mesh-webhook ${injected ? 'injects' : `skips (${a.skippedByOurs})`} a pod Istio's webhooks for its revision ${equivalent ? 'select' : 'do not select'}`);
      }
    }
  }
  expect(problems, state.name).toEqual([]);
  return results;
}

/** Combinations whose sidecar differs between two states (outside the labels the migration introduces). */
function changed(before: Map<Combination, Admission>, after: Map<Combination, Admission>, space: Combination[], revisions: readonly string[]): string[] {
  return space
    .filter((c) => !introduced(c, revisions))
    .filter((c) => (before.get(c)!.sidecar === undefined) !== (after.get(c)!.sidecar === undefined))
    .map((c) => `${show(c)}: ${before.get(c)!.sidecar ?? 'none'} → ${after.get(c)!.sidecar ?? 'none'}`);
}

const count = (results: Map<Combination, Admission>, who: Injector | undefined) => [...results.values()].filter((a) => a.sidecar === who).length;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-migration-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---- the scenarios ------------------------------------------------------------------------------------------------

describe.each([
  {
    what: 'istiod default revision, opt-in (Istio\'s default; the Kyma Istio module)',
    enableNamespacesByDefault: false,
    canary: ['components/canary'],
    switched: ['components/opt-in-injection'],
  },
  {
    what: 'istiod default revision, opt-in, with the kyma-module profile',
    enableNamespacesByDefault: false,
    canary: ['components/kyma-module', 'components/canary'],
    switched: ['components/kyma-module'],
  },
  {
    what: 'istiod default revision, on by default (the Kyma documents)',
    enableNamespacesByDefault: true,
    canary: ['components/canary'],
    switched: [] as string[],
  },
])('$what', ({ enableNamespacesByDefault, canary, switched }) => {
  const revisions = ['default', CANARY, GATEWAYS, 'other'] as const;
  const space = combinations(revisions);
  const istiod = istiodInjector({ revision: '', enableNamespacesByDefault });
  const gatewaysTag = istiodRevisionTag(GATEWAYS, { enableNamespacesByDefault: false });
  let canaryOurs: Ours;
  let switchedOurs: Ours;
  let rollingOut: Ours;
  let rollingBack: Ours;
  let results: Record<string, Map<Combination, Admission>>;

  beforeAll(() => {
    canaryOurs = installed(canary);
    switchedOurs = installed(switched);
    // A rollout in progress: the new webhook configuration is applied, an old replica still runs the other arguments.
    rollingOut = { ...installed(switched, [], canary), registered: switchedOurs.registered };
    rollingBack = { ...installed(canary, [], switched), registered: canaryOurs.registered };
    results = {};
  });

  const states = (): State[] => [
    { name: '0 istiod only', istiod: [istiod] },
    { name: '1 canary: mesh-webhook serves revision mesh-webhook beside istiod (and the gateways tag)', istiod: [istiod, gatewaysTag], ours: canaryOurs },
    { name: 'window 1→2: istiod\'s injector deactivated, the canary still installed', istiod: [deactivated(istiod), gatewaysTag], ours: canaryOurs, window: true },
    {
      name: 'window 1→2: the default manifests applied, an old canary replica still answering',
      istiod: [deactivated(istiod), gatewaysTag],
      ours: rollingOut,
      oursEquivalent: { injector: 'mesh-webhook', configuration: canaryOurs.registered.configuration },
      window: true,
      sharedWithOtherRevisions: switched.length === 0,
    },
    {
      name: '2 switched: istiod\'s injector deactivated, mesh-webhook serves the default revision',
      istiod: [deactivated(istiod), gatewaysTag],
      ours: switchedOurs,
      oursEquivalent: istiodInjector({ revision: '', enableNamespacesByDefault }),
      sharedWithOtherRevisions: switched.length === 0,
    },
    {
      name: '3 istiod\'s injector removed for good (the gateways tag kept)',
      istiod: [gatewaysTag],
      ours: switchedOurs,
      oursEquivalent: istiodInjector({ revision: '', enableNamespacesByDefault }),
      sharedWithOtherRevisions: switched.length === 0,
    },
    {
      name: 'rollback window 2→1: the canary manifests applied, an old default replica still answering',
      istiod: [deactivated(istiod), gatewaysTag],
      ours: rollingBack,
      oursEquivalent: istiodInjector({ revision: '', enableNamespacesByDefault }),
      window: true,
    },
    { name: 'rollback 1: istiod\'s injector reactivated', istiod: [istiod, gatewaysTag], ours: canaryOurs },
    { name: 'rollback 0: the canary removed', istiod: [istiod] },
  ];

  it('every step and window: at most one webhook selects a pod; mesh-webhook injects exactly what its revision selects', () => {
    for (const state of states()) results[state.name] = checkState(state, space);
  });

  it('step 0: istiod injects; nobody injects the canary\'s revision yet', () => {
    const r = results['0 istiod only']!;
    expect(count(r, 'mesh-webhook')).toBe(0);
    expect(count(r, 'istiod')).toBeGreaterThan(0);
    for (const c of space.filter((x) => x.ns['istio.io/rev'] === CANARY && !x.ns['istio-injection'])) expect(r.get(c)!.sidecar, show(c)).toBeUndefined();
  });

  it('step 1 (canary): mesh-webhook injects exactly the pods of revision mesh-webhook, istiod every pod it injected before', () => {
    const r = results['1 canary: mesh-webhook serves revision mesh-webhook beside istiod (and the gateways tag)']!;
    expect(changed(results['0 istiod only']!, r, space, [CANARY, GATEWAYS])).toEqual([]);
    for (const c of space) {
      const ours = r.get(c)!.sidecar === 'mesh-webhook';
      const canaryLabelled =
        c.pod['sidecar.istio.io/inject'] !== 'false' &&
        ((c.ns['istio.io/rev'] === CANARY && c.ns['istio-injection'] === undefined) ||
          (c.pod['istio.io/rev'] === CANARY && c.ns['istio.io/rev'] === undefined && c.ns['istio-injection'] === undefined));
      expect(ours, show(c)).toBe(canaryLabelled);
    }
    // Moving a namespace: istio-injection=enabled → istio.io/rev=mesh-webhook, in one `kubectl label`.
    const before = space.find((c) => c.ns['istio-injection'] === 'enabled' && !c.ns['istio.io/rev'] && Object.keys(c.pod).length === 1)!;
    const after = space.find((c) => c.ns['istio.io/rev'] === CANARY && !c.ns['istio-injection'] && Object.keys(c.pod).length === 1)!;
    expect([r.get(before)!.sidecar, r.get(after)!.sidecar]).toEqual(['istiod', 'mesh-webhook']);
  });

  it('steps 2 and 3: mesh-webhook injects every pod istiod injected at step 0, and no other', () => {
    for (const name of ['2 switched: istiod\'s injector deactivated, mesh-webhook serves the default revision', '3 istiod\'s injector removed for good (the gateways tag kept)']) {
      const r = results[name]!;
      expect(changed(results['0 istiod only']!, r, space, [CANARY, GATEWAYS]), name).toEqual([]);
      for (const c of space.filter((x) => !introduced(x, [CANARY, GATEWAYS]))) {
        expect(r.get(c)!.sidecar, `${name}: ${show(c)}`).toBe(results['0 istiod only']!.get(c)!.sidecar === 'istiod' ? 'mesh-webhook' : undefined);
      }
      // A namespace still on the canary's revision is nobody's from step 2 on: move it back before the switch.
      for (const c of space.filter((x) => x.ns['istio.io/rev'] === CANARY && !x.ns['istio-injection'])) expect(r.get(c)!.sidecar, `${name}: ${show(c)}`).toBeUndefined();
    }
  });

  it('the gateways\' revision stays with istiod at every step, on the namespace or on the pod in a namespace without injection labels', () => {
    // mesh-webhook renders only the sidecar template (a gateway pod asks for another): the gateways must never reach it.
    const gateways = space.filter(
      (c) => c.pod['sidecar.istio.io/inject'] !== 'false' && ((c.ns['istio.io/rev'] === GATEWAYS && !c.ns['istio-injection']) || (c.pod['istio.io/rev'] === GATEWAYS && !c.ns['istio.io/rev'] && !c.ns['istio-injection'])),
    );
    expect(gateways.length).toBe(12);
    for (const state of states().slice(1, -1)) {
      for (const c of gateways) expect(results[state.name]!.get(c)!.sidecar, `${state.name}: ${show(c)}`).toBe('istiod');
    }
  });

  it('the windows: the pods istiod injected at step 0 get no sidecar (nothing selects them, or mesh-webhook skips them); nothing else changes', () => {
    const before = results['0 istiod only']!;
    const defaults = space.filter((c) => !introduced(c, [CANARY, GATEWAYS]) && before.get(c)!.sidecar === 'istiod');
    for (const name of [
      'window 1→2: istiod\'s injector deactivated, the canary still installed',
      'window 1→2: the default manifests applied, an old canary replica still answering',
      'rollback window 2→1: the canary manifests applied, an old default replica still answering',
    ]) {
      const r = results[name]!;
      expect(defaults.filter((c) => r.get(c)!.sidecar !== undefined).map(show), name).toEqual([]);
      expect(
        space.filter((c) => !introduced(c, [CANARY, GATEWAYS]) && before.get(c)!.sidecar === undefined && r.get(c)!.sidecar !== undefined).map(show),
        name,
      ).toEqual([]);
    }
    // With the new webhook configuration and an old replica, the pods reach mesh-webhook and are skipped, by rule
    // webhookSelectors: the metric mesh_webhook_admission_requests_total{outcome="skipped",reason="webhookSelectors"}.
    const rolling = results['window 1→2: the default manifests applied, an old canary replica still answering']!;
    const skipped = defaults.filter((c) => rolling.get(c)!.skippedByOurs !== undefined);
    expect(skipped.length).toBe(defaults.length);
    expect(rolling.get(skipped[0]!)!.skippedByOurs).toMatch(/^revision mesh-webhook \(servedRevision\): namespace shop is not labelled istio\.io\/rev=mesh-webhook/);
  });

  it('rollback: each step back gives the sidecars of the step it returns to', () => {
    expect(changed(results['1 canary: mesh-webhook serves revision mesh-webhook beside istiod (and the gateways tag)']!, results['rollback 1: istiod\'s injector reactivated']!, space, [])).toEqual([]);
    expect(changed(results['0 istiod only']!, results['rollback 0: the canary removed']!, space, [])).toEqual([]);
  });
});

describe('a revisioned istiod (1-30) with the revision tag default: mesh-webhook renders for 1-30, serves the tag', () => {
  const revisions = ['default', CANARY, '1-30', 'other'] as const;
  const space = combinations(revisions);
  const istiod130 = istiodInjector({ revision: '1-30', enableNamespacesByDefault: false });
  const tagDefault = istiodRevisionTag('default', { enableNamespacesByDefault: false });

  it('canary, then the tag default switched to mesh-webhook (--revision default --set values.revision=1-30)', () => {
    const canary = installed(['components/canary'], ['--set', 'values.revision=1-30']);
    const switched = installed(['components/opt-in-injection'], ['--set', 'values.revision=1-30', '--revision', 'default']);
    const step0 = checkState({ name: '0', istiod: [istiod130, tagDefault] }, space);
    const step1 = checkState({ name: '1', istiod: [istiod130, tagDefault], ours: canary }, space);
    const step2 = checkState({ name: '2: the tag default deleted', istiod: [istiod130], ours: switched, oursEquivalent: tagDefault }, space);
    expect(changed(step0, step1, space, [CANARY])).toEqual([]);
    expect(changed(step0, step2, space, [CANARY])).toEqual([]);
    // istiod-1-30 keeps the namespaces and pods labelled with its own revision.
    for (const c of space.filter((x) => x.ns['istio.io/rev'] === '1-30' && !x.ns['istio-injection'] && x.pod['sidecar.istio.io/inject'] !== 'false')) {
      expect(step2.get(c)!.sidecar, show(c)).toBe('istiod');
    }
    // The default revision's labels went from the tag (istiod-1-30) to mesh-webhook.
    const enabled = space.find((c) => c.ns['istio-injection'] === 'enabled' && Object.keys(c.pod).length === 1)!;
    expect([step0.get(enabled)!.sidecar, step2.get(enabled)!.sidecar]).toEqual(['istiod', 'mesh-webhook']);
  });
});

describe('the gateways: a pod asking for the gateway template is never injected by mesh-webhook', () => {
  it('is refused when sent and selected (so it must stay with istiod), skipped when its revision is not served', () => {
    const gatewayPod = (labels: Labels): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ingress', labels: { app: 'ingress', 'sidecar.istio.io/inject': 'true', ...labels }, annotations: { 'inject.istio.io/templates': 'gateway' } },
      spec: { containers: [{ name: 'istio-proxy', image: 'auto' }] },
    });
    const view = (labels: Labels) => ({ namespaceLabels: () => labels, nativeSidecarsSupported: () => true });
    const config = loadConfig({ sets: ['values.sidecarInjectorWebhook.enableNamespacesByDefault=false'] });
    // Selected by our opt-in webhooks (the gateway chart labels it sidecar.istio.io/inject=true): refused.
    const selected = createInjector(config, view({})).inject({ pod: gatewayPod({}), namespace: 'istio-ingress' });
    expect(selected).toMatchObject({ kind: 'rejected' });
    expect(selected.kind === 'rejected' && selected.message).toContain("requested template 'gateway' not found; have [sidecar]");
    // Moved to istiod's gateways tag (pod or namespace label): not selected, and skipped if sent (base manifests).
    for (const [ns, pod] of [[{}, { 'istio.io/rev': GATEWAYS }], [{ 'istio.io/rev': GATEWAYS }, {}]] as [Labels, Labels][]) {
      for (const cfg of [config, loadConfig()]) {
        expect(createInjector(cfg, view(ns)).inject({ pod: gatewayPod(pod), namespace: 'istio-ingress' }).kind).toBe('skipped');
      }
    }
  });
});

describe('if both injectors were called for one pod', () => {
  // Neither skips a pod that already carries sidecar.istio.io/status: istiod's injectRequired does not read it
  // (pkg/kube/inject/inject.go) and its injectPod re-renders the template over the containers the status names
  // (webhook.go); mesh-webhook re-injects the same way (docs/configuration.md#re-injection). The API server calls
  // the configurations in name order: istio-revision-tag-*, istio-sidecar-injector* before mesh-webhook.
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
  const names = (p: Pod) => ({ init: (p.spec!.initContainers ?? []).map((c) => c.name), containers: p.spec!.containers!.map((c) => c.name) });
  const inject = (p: Pod, nativeSidecars: boolean) => {
    const o = createInjector(loadConfig({ profile: 'istio', nativeSidecars })).inject({ pod: p, namespace: NAMESPACE });
    if (o.kind !== 'injected') throw new Error(`not injected: ${o.reason}`);
    return o.pod;
  };

  it('the second re-injects over the first: one sidecar, the second\'s', () => {
    const native = inject(pod, true);
    expect(names(inject(native, true))).toEqual({ init: ['istio-init', 'istio-proxy'], containers: ['web'] });
    expect(inject(native, true)).toEqual(native);
    const classic = inject(pod, false);
    expect(names(inject(classic, false))).toEqual({ init: ['istio-init'], containers: ['web', 'istio-proxy'] });
    // A classic proxy re-injected as a native one: the earlier container is replaced.
    expect(names(inject(classic, true))).toEqual({ init: ['istio-init', 'istio-proxy'], containers: ['web'] });
  });

  it('but a native sidecar re-injected as a classic one is there twice, which the API server refuses', () => {
    expect(names(inject(inject(pod, true), false))).toEqual({ init: ['istio-init', 'istio-proxy'], containers: ['web', 'istio-proxy'] });
  });
});
