/**
 * `mesh-webhook outdated` against the Kubernetes API test double with a fixture cluster state holding each workload
 * kind (test/operations/fixtureCluster.ts): what is outdated and why, the grouping by workload, and the restarts
 * (dry run by default, --max-restarts, rollouts in progress, what is never touched).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type OutdatedArgs } from '../../src/cli/args.js';
import { runOutdated } from '../../src/cli/outdated.js';
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import { findOutdated, restartOutdated, type OutdatedReport } from '../../src/outdated/index.js';
import { connectOutdatedApi, RESTARTED_AT } from '../../src/outdated/kube.js';
import { FakeApiServer } from '../k8s/fakeApiServer.js';
import { cli, ensureBuilt, outdatedArgs, runOutdatedWith } from './helpers.js';
import { CURRENT_IMAGE, CUSTOM_IMAGE, OLD_IMAGE, loadFixture } from './fixtureCluster.js';

const NOW = new Date('2030-01-02T03:04:05.678Z');
const RESTARTED = '2030-01-02T03:04:05Z';

let api: FakeApiServer;
let dir: string;
let kubeconfig: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-outdated-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  api = await FakeApiServer.start();
  loadFixture(api);
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig('shop'));
});
afterEach(() => api.close());

const args = (...argv: string[]): OutdatedArgs => outdatedArgs(kubeconfig, ...argv);
const run = (...argv: string[]) => runOutdatedWith(kubeconfig, ...argv);

async function report(...argv: string[]): Promise<OutdatedReport> {
  const r = await run(...argv, '-o', 'json');
  expect(r.code).toBe(0);
  return JSON.parse(r.text) as OutdatedReport;
}

const summary = (r: OutdatedReport) => r.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name} ${w.action}${w.result ? ` (${w.result})` : ''}`);
const patches = () => api.requests.filter((r) => r.method === 'PATCH');

describe('listing outdated sidecars', () => {
  it('-A: compares every injected pod, groups the ones needing attention by workload (ReplicaSet -> Deployment, Job -> CronJob)', async () => {
    const r = await report('-A');
    expect(r.namespace).toBeUndefined();
    expect(r.expected).toEqual({
      image: CURRENT_IMAGE,
      resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    });
    expect({ checked: r.checked, upToDate: r.upToDate, outdated: r.outdated, ignored: r.ignored }).toEqual({ checked: 11, upToDate: 2, outdated: 8, ignored: 1 });
    expect(summary(r)).toEqual([
      'batch/CronJob/nightly manual',
      'batch/Job/once manual',
      'other/Deployment/api restart',
      'shop/DaemonSet/agent restart',
      'shop/Deployment/custom none',
      'shop/Deployment/web restart',
      'shop/Pod/solo manual',
      'shop/StatefulSet/db restart',
    ]);
    const byName = new Map(r.workloads.map((w) => [`${w.kind}/${w.name}`, w]));
    expect(byName.get('Deployment/web')).toMatchObject({ via: 'ReplicaSet web-5d8f7', restartable: true, detail: 'kubectl rollout restart deployment/web -n shop' });
    expect(byName.get('Deployment/web')!.pods).toEqual([
      { namespace: 'shop', name: 'web-5d8f7-aaaaa', status: 'outdated', proxyIn: 'initContainers', differences: [{ field: 'image', actual: OLD_IMAGE, expected: CURRENT_IMAGE }], notes: [] },
      { namespace: 'shop', name: 'web-5d8f7-bbbbb', status: 'outdated', proxyIn: 'initContainers', differences: [{ field: 'image', actual: OLD_IMAGE, expected: CURRENT_IMAGE }], notes: [] },
    ]);
    expect(byName.get('DaemonSet/agent')!.pods[0]!.differences).toEqual([
      { field: 'resources.requests.cpu', actual: '10m', expected: '20m' },
      { field: 'resources.requests.memory', actual: '16Mi', expected: '32Mi' },
      { field: 'resources.limits.cpu', actual: '100m', expected: '200m' },
      { field: 'resources.limits.memory', actual: '64Mi', expected: '128Mi' },
    ]);
    expect(byName.get('CronJob/nightly')).toMatchObject({
      via: 'Job nightly-29000000',
      restartable: false,
      detail: 'Jobs are not restarted: the running Job finishes with its proxy, the next Job of the CronJob gets the current one',
    });
    expect(byName.get('Job/once')).toMatchObject({ restartable: false, detail: 'Jobs are not restarted: let it finish, or delete the Job and create it again' });
    expect(byName.get('Pod/solo')).toMatchObject({ restartable: false, detail: 'a bare pod (no owner): delete it and create it again' });
    const custom = byName.get('Deployment/custom')!;
    expect(custom.detail).toBe('custom proxy image (sidecar.istio.io/proxyImage): never restarted');
    expect(custom.pods).toEqual([
      {
        namespace: 'shop',
        name: 'custom-7c9d-ccccc',
        status: 'custom-image',
        proxyIn: 'initContainers',
        differences: [{ field: 'image', actual: CUSTOM_IMAGE, expected: CURRENT_IMAGE }],
        notes: [`proxy image set by sidecar.istio.io/proxyImage: ${CUSTOM_IMAGE}; never restarted`],
      },
    ]);
    // Nothing is written without --restart.
    expect(patches()).toEqual([]);
  });

  it('-n NS, and the kubeconfig context namespace by default', async () => {
    expect(summary(await report('-n', 'other'))).toEqual(['other/Deployment/api restart']);
    const shop = await report();
    expect(shop.namespace).toBe('shop');
    expect(summary(shop)).toEqual([
      'shop/DaemonSet/agent restart',
      'shop/Deployment/custom none',
      'shop/Deployment/web restart',
      'shop/Pod/solo manual',
      'shop/StatefulSet/db restart',
    ]);
    expect(shop.checked).toBe(8);
    expect(api.requests.some((r) => r.path === '/api/v1/namespaces/shop/pods')).toBe(true);
  });

  it('looks each ReplicaSet and Job up once, and nothing else', async () => {
    api.clearRequests();
    await report('-A');
    const gets = api.requests.filter((r) => r.method === 'GET' && !r.path.endsWith('/pods')).map((r) => r.path).sort();
    expect(gets).toEqual([
      '/apis/apps/v1/namespaces/other/replicasets/api-55f6',
      '/apis/apps/v1/namespaces/shop/replicasets/custom-7c9d',
      '/apis/apps/v1/namespaces/shop/replicasets/web-5d8f7',
      '/apis/batch/v1/namespaces/batch/jobs/nightly-29000000',
      '/apis/batch/v1/namespaces/batch/jobs/once',
    ]);
  });

  it('text output', async () => {
    const { code, text } = await run('-n', 'shop');
    expect(code).toBe(0);
    const lines = text.split('\n');
    expect(lines[0]).toBe(`Current istio-proxy: ${CURRENT_IMAGE} (requests cpu=20m memory=32Mi, limits cpu=200m memory=128Mi)`);
    expect(lines).toContain('Deployment shop/web (via ReplicaSet web-5d8f7): 2 outdated pod(s); restart: kubectl rollout restart deployment/web -n shop');
    expect(lines).toContain(`    outdated     pod web-5d8f7-aaaaa: image ${OLD_IMAGE} -> ${CURRENT_IMAGE}`);
    expect(lines).toContain('Pod shop/solo: 1 outdated pod(s); not restarted: a bare pod (no owner): delete it and create it again');
    expect(lines).toContain('8 pod(s) with a sidecar checked in namespace shop: 2 up to date, 5 outdated');
    expect(lines).toContain('Run with --restart to see the rollouts (a dry run), --restart --dry-run=false to do them.');
  });
});

describe('restarting', () => {
  it('--restart alone is a dry run: says what it would restart, writes nothing', async () => {
    const r = await report('-A', '--restart');
    expect(summary(r)).toEqual([
      'batch/CronJob/nightly manual',
      'batch/Job/once manual',
      'other/Deployment/api restart (would restart)',
      'shop/DaemonSet/agent restart (would restart)',
      'shop/Deployment/custom none',
      'shop/Deployment/web restart (would restart)',
      'shop/Pod/solo manual',
      'shop/StatefulSet/db restart (would restart)',
    ]);
    expect(r.restart).toEqual({ dryRun: true, maxRestarts: 5, annotation: RESTARTED_AT, restarted: 4, deletedPods: 0, deferred: 0, failed: 0 });
    expect(patches()).toEqual([]);
    const text = await run('-A', '--restart');
    expect(text.text).toContain('Dry run: 4 workload(s) would be restarted; run with --restart --dry-run=false to restart them');
  });

  it('--dry-run=false patches the pod templates of Deployments, DaemonSets and StatefulSets, at most --max-restarts', async () => {
    const injector = createInjector(loadConfig({}));
    const conn = await connectOutdatedApi({ kubeconfig });
    const r = await findOutdated(conn, injector, { namespace: undefined });
    await restartOutdated(conn, r, { dryRun: false, maxRestarts: 3, now: () => NOW });
    expect(summary(r)).toEqual([
      'batch/CronJob/nightly manual',
      'batch/Job/once manual',
      'other/Deployment/api restart (restarted)',
      'shop/DaemonSet/agent restart (restarted)',
      'shop/Deployment/custom none',
      'shop/Deployment/web restart (restarted)',
      'shop/Pod/solo manual',
      'shop/StatefulSet/db deferred',
    ]);
    expect(r.restart).toEqual({ dryRun: false, maxRestarts: 3, annotation: RESTARTED_AT, restarted: 3, deletedPods: 0, deferred: 1, failed: 0 });
    expect(patches().map((p) => `${p.path} ${p.contentType}`)).toEqual([
      '/apis/apps/v1/namespaces/other/deployments/api application/merge-patch+json',
      '/apis/apps/v1/namespaces/shop/daemonsets/agent application/merge-patch+json',
      '/apis/apps/v1/namespaces/shop/deployments/web application/merge-patch+json',
    ]);
    const web = api.get('deployments', 'web', 'shop')!;
    expect((web.spec as any).template.metadata.annotations).toEqual({ [RESTARTED_AT]: RESTARTED });
    expect((web.spec as any).template.metadata.labels).toEqual({ app: 'web' }); // a merge, not a replacement
    expect(web.metadata.generation).toBe(2);
    expect((api.get('daemonsets', 'agent', 'shop')!.spec as any).template.metadata.annotations).toEqual({ [RESTARTED_AT]: RESTARTED });
    expect((api.get('statefulsets', 'db', 'shop')!.spec as any).template.metadata.annotations).toBeUndefined();
    expect(api.get('deployments', 'custom', 'shop')!.metadata.generation).toBe(1);
    expect(api.get('jobs', 'once', 'batch')!.metadata.generation).toBe(1);

    // Run again: the restarted workloads' rollouts have not been observed (no controller runs): not restarted twice.
    api.clearRequests();
    const again = await findOutdated(conn, injector, { namespace: 'shop' });
    await restartOutdated(conn, again, { dryRun: false, maxRestarts: 3, now: () => NOW });
    expect(summary(again)).toEqual([
      'shop/DaemonSet/agent rollout-in-progress',
      'shop/Deployment/custom none',
      'shop/Deployment/web rollout-in-progress',
      'shop/Pod/solo manual',
      'shop/StatefulSet/db restart (restarted)',
    ]);
    expect(again.workloads.find((w) => w.name === 'web')!.detail).toBe('its rollout is still in progress (generation 2, observed 1): not restarted again');
    expect(patches().map((p) => p.path)).toEqual(['/apis/apps/v1/namespaces/shop/statefulsets/db']);
  });

  it('through the CLI flags: --restart --dry-run=false --max-restarts 1', async () => {
    const r = await report('-n', 'shop', '--restart', '--dry-run=false', '--max-restarts', '1');
    expect(summary(r)).toEqual([
      'shop/DaemonSet/agent restart (restarted)',
      'shop/Deployment/custom none',
      'shop/Deployment/web deferred',
      'shop/Pod/solo manual',
      'shop/StatefulSet/db deferred',
    ]);
    expect(patches().map((p) => p.path)).toEqual(['/apis/apps/v1/namespaces/shop/daemonsets/agent']);
  });

  it('a failed patch is reported and gives exit code 1; the others go on', async () => {
    api.failNext({ method: 'PATCH', path: '/daemonsets/agent' }, 1, 403);
    const r = await run('-n', 'shop', '--restart', '--dry-run=false', '-o', 'json');
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.text) as OutdatedReport;
    expect(rep.workloads.find((w) => w.name === 'agent')!.result).toMatch(/^failed: restart DaemonSet shop\/agent: 403/);
    expect(rep.restart).toMatchObject({ restarted: 2, failed: 1 });
  });
});

describe('rollouts already in progress before the run', () => {
  it('are not restarted again', async () => {
    await api.close();
    api = await FakeApiServer.start();
    loadFixture(api, { webRolloutInProgress: true });
    writeFileSync(kubeconfig, api.kubeconfig('shop'));
    const r = await report('--restart');
    expect(r.workloads.find((w) => w.name === 'web')).toMatchObject({ action: 'rollout-in-progress' });
  });
});

describe('the API client', () => {
  it('lists pods page by page (limit/continue)', async () => {
    const conn = await connectOutdatedApi({ kubeconfig, pageSize: 4 });
    api.clearRequests();
    const pods = await conn.listPods(undefined);
    expect(pods).toHaveLength(13);
    const lists = api.requests.filter((r) => r.path === '/api/v1/pods');
    expect(lists).toHaveLength(4);
    expect(lists.map((l) => l.query.limit)).toEqual(['4', '4', '4', '4']);
    expect(lists[0]!.query.continue).toBeUndefined();
    expect(lists.slice(1).every((l) => typeof l.query.continue === 'string')).toBe(true);
    expect(new Set(pods.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).size).toBe(13);
  });

  it('a missing kubeconfig or an unreachable API server is a NoClusterError naming it', async () => {
    await expect(runOutdated(args('--kubeconfig', join(dir, 'nope')))).rejects.toThrow(/kubeconfig file .*nope \(--kubeconfig\) does not exist/);
    await api.close();
    await expect(run('-n', 'shop')).rejects.toThrow(/list pods in namespace shop: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+/);
    api = await FakeApiServer.start(); // for afterEach
  });
});

describe('flags', () => {
  it('parses and checks them', () => {
    expect(parseCommandLine(['outdated'])).toEqual({
      command: 'outdated',
      args: { allNamespaces: false, output: 'text', restart: false, dryRun: true, maxRestarts: 5, failOnOutdated: false, diff: false, config: {} },
    });
    expect(parseCommandLine(['outdated', '--fail-on-outdated'])).toMatchObject({ args: { failOnOutdated: true } });
    expect(parseCommandLine(['outdated', '--diff'])).toMatchObject({ args: { diff: true } });
    expect(() => parseCommandLine(['outdated', '--diff=yes'])).toThrow(/Option '--diff' does not take an argument/);
    expect(parseCommandLine(['outdated', '-A', '--restart', '--dry-run'])).toMatchObject({ args: { allNamespaces: true, restart: true, dryRun: true } });
    expect(parseCommandLine(['outdated', '-n', 'shop', '--restart', '--dry-run=false', '--max-restarts', '2'])).toMatchObject({
      args: { namespace: 'shop', restart: true, dryRun: false, maxRestarts: 2 },
    });
    expect(() => parseCommandLine(['outdated', '-n', 'a', '-A'])).toThrow(/exclude each other/);
    expect(() => parseCommandLine(['outdated', '--dry-run=false'])).toThrow(/--dry-run goes with --restart/);
    expect(() => parseCommandLine(['outdated', '--restart', '--dry-run=maybe'])).toThrow(UsageError);
    expect(() => parseCommandLine(['outdated', '--restart', '--max-restarts', '0'])).toThrow(/--max-restarts must be an integer 1..1000/);
  });
});

describe('mesh-webhook outdated (the built CLI)', () => {
  beforeAll(() => ensureBuilt(), 120_000);
  it('lists and, with --dry-run=false, restarts', async () => {
    const list = await cli(['outdated', '--kubeconfig', kubeconfig, '-A']);
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
    expect(list.stdout).toContain('11 pod(s) with a sidecar checked in all namespaces: 2 up to date, 8 outdated (1 terminating or finished pod(s) left out)');
    const act = await cli(['outdated', '--kubeconfig', kubeconfig, '-n', 'other', '--restart', '--dry-run=false']);
    expect(act.status).toBe(0);
    expect(act.stdout).toContain('Deployment other/api (via ReplicaSet api-55f6): 1 outdated pod(s); restarted (kubectl rollout restart deployment/api -n other)');
    expect(act.stdout).toContain('1 workload(s) restarted');
    expect((api.get('deployments', 'api', 'other')!.spec as any).template.metadata.annotations[RESTARTED_AT]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('--fail-on-outdated: exit 3 when a pod is outdated, 0 when none is', async () => {
    const found = await cli(['outdated', '--kubeconfig', kubeconfig, '-A', '--fail-on-outdated']);
    expect(found.stderr).toBe('');
    expect(found.status).toBe(3);
    expect(found.stdout).toContain('11 pod(s) with a sidecar checked in all namespaces: 2 up to date, 8 outdated');
    const none = await cli(['outdated', '--kubeconfig', kubeconfig, '-n', 'empty', '--fail-on-outdated']);
    expect(none.stderr).toBe('');
    expect(none.status).toBe(0);
    // Without the flag outdated pods are a finding, not a failure.
    expect((await cli(['outdated', '--kubeconfig', kubeconfig, '-A'])).status).toBe(0);
  });
});

describe('mesh-webhook outdated without a cluster to talk to: one line naming what was tried, exit 4', () => {
  beforeAll(() => ensureBuilt(), 120_000);
  /** An environment without a kubeconfig of the machine's own (HOME is the test directory, no KUBECONFIG). */
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '', HOME: join(dir, 'home'), ...extra });
  const kubeconfigFor = (name: string, server: string): string => {
    const file = join(dir, name);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'ctx',
      }),
    );
    return file;
  };

  it('no kubeconfig at all', async () => {
    expect(await cli(['outdated'], { env: env() })).toEqual({
      status: 4,
      stdout: '',
      stderr: `error: no cluster to check: no --kubeconfig, KUBECONFIG is not set and ${join(dir, 'home', '.kube', 'config')} does not exist (and this is not a pod with a service account): pass --kubeconfig FILE, or set KUBECONFIG to the kubeconfig kubectl uses\n`,
    });
  });

  it('a kubeconfig file that does not exist, given by --kubeconfig or $KUBECONFIG', async () => {
    const missing = join(dir, 'missing');
    expect(await cli(['outdated', '--kubeconfig', missing], { env: env() })).toEqual({
      status: 4,
      stdout: '',
      stderr: `error: kubeconfig file ${missing} (--kubeconfig) does not exist: pass the path of a kubeconfig file to --kubeconfig\n`,
    });
    expect(await cli(['outdated'], { env: env({ KUBECONFIG: missing }) })).toEqual({
      status: 4,
      stdout: '',
      stderr: `error: kubeconfig file ${missing} named by $KUBECONFIG does not exist: fix KUBECONFIG, or pass --kubeconfig FILE\n`,
    });
  });

  it('a server that is plain http:// (the client refuses it without insecure-skip-tls-verify)', async () => {
    const file = kubeconfigFor('http-kubeconfig', 'http://127.0.0.1:8080');
    expect(await cli(['outdated', '--kubeconfig', file], { env: env() })).toEqual({
      status: 4,
      stdout: '',
      stderr: `error: the API server of context "ctx" of kubeconfig ${file} (--kubeconfig) is http://127.0.0.1:8080, plain HTTP, which the Kubernetes client refuses unless that cluster sets insecure-skip-tls-verify: put the API server's https:// address in the kubeconfig, or check the current context (kubectl config current-context), or pass --kubeconfig FILE\n`,
    });
  });

  it('a server that refuses connections', async () => {
    const closed = await FakeApiServer.start();
    const port = Number(new URL(closed.url).port);
    await closed.close();
    const file = kubeconfigFor('refusing-kubeconfig', `https://127.0.0.1:${port}`);
    expect(await cli(['outdated', '-n', 'shop'], { env: env({ KUBECONFIG: file }) })).toEqual({
      status: 4,
      stdout: '',
      stderr: `error: list pods in namespace shop: cannot reach the Kubernetes API at https://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}), the server of context "ctx" of kubeconfig ${file} ($KUBECONFIG): check the current context (kubectl config current-context), or pass --kubeconfig FILE\n`,
    });
  });
});

describe('a classic sidecar under a configuration that now injects native sidecars', () => {
  // Re-injecting the running pod would merge the template onto its earlier injection (as Istio does) and keep the
  // classic proxy's image; the comparison is with a fresh injection of the pod as its workload creates it.
  it('is outdated: compared with a fresh injection, not with a re-injection of the running pod', async () => {
    const old = createInjector(loadConfig({ profile: 'kyma', nativeSidecars: false, sets: ['values.global.tag="1.29.0-distroless"'] }));
    const outcome = old.inject({ pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } }, namespace: 'shop' });
    if (outcome.kind !== 'injected') throw new Error(outcome.kind);
    const pods = [{ ...outcome.pod, status: { phase: 'Running' } }];
    const fake = {
      server: 'https://fake',
      contextNamespace: 'shop',
      listPods: async () => pods,
      get: async () => undefined,
      restart: async () => {
        throw new Error('no restarts here');
      },
    };
    const r = await findOutdated(fake as never, createInjector(loadConfig({ profile: 'kyma' })), { namespace: 'shop' });
    expect({ checked: r.checked, upToDate: r.upToDate, outdated: r.outdated }).toEqual({ checked: 1, upToDate: 0, outdated: 1 });
    expect(r.workloads[0]!.pods[0]!.differences).toEqual([
      { field: 'image', actual: 'europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.29.0-distroless', expected: CURRENT_IMAGE },
    ]);
  });
});

describe('outdated --revision NAME', () => {
  // A served revision only selects pods; the sidecar is rendered for values.revision all the same, so outdated
  // compares every injected pod as without it (during a canary, the pods istiod injected are compared with what
  // mesh-webhook would inject). The namespaces' labels are not read.
  it('compares every injected pod, as without --revision', async () => {
    const plain = await report('-A');
    const canary = await report('-A', '--revision', 'mesh-webhook');
    expect(plain.outdated).toBeGreaterThan(0);
    expect(canary).toEqual(plain);
    const notes = canary.workloads.flatMap((w) => w.pods.flatMap((p) => p.notes));
    expect(notes.filter((n) => n.includes('would not inject'))).toEqual([]);
  });
});
