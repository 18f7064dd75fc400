/**
 * `explain` suggests shell commands (kubectl ...) built from the object's names, and a manifest can name things
 * anything. Every object-derived word is quoted for a POSIX shell (src/util/shellQuote.ts): the expected texts are
 * written literally here, and the commands are also run through a real /bin/sh with a stand-in `kubectl` that prints
 * its arguments, which must be exactly the object's names (and nothing may have been executed).
 *
 * Through the explainer in process, and through the built CLI (`mesh-webhook explain -f FILE`, text and JSON).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { createExplainer, type Explanation } from '../../src/explain/index.js';
import { createInjector } from '../../src/inject/index.js';
import { cli, ensureBuilt } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-explain-quote-'));
const CANARY = join(dir, 'pwned');
const bin = join(dir, 'bin');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  // A stand-in kubectl: prints each argument followed by a NUL byte.
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'kubectl'), '#!/bin/sh\nfor a in "$@"; do printf \'%s\\000\' "$a"; done\n');
  chmodSync(join(bin, 'kubectl'), 0o755);
});

/** The arguments `kubectl` receives when /bin/sh runs `command`. */
function kubectlArgs(command: string): string[] {
  const r = spawnSync('/bin/sh', ['-c', command], { cwd: dir, env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir } });
  if (r.status !== 0) throw new Error(`sh exited ${r.status} for ${command}: ${r.stderr.toString()}`);
  const out = r.stdout.toString('utf8');
  return out === '' ? [] : out.slice(0, -1).split('\0');
}

/** Hostile names: command substitution, backticks, separators, quotes, newlines, spaces. */
const HOSTILE: { name: string; quoted: string }[] = [
  { name: `web$(touch ${CANARY})`, quoted: `'web$(touch ${CANARY})'` },
  { name: `web\`touch ${CANARY}\``, quoted: `'web\`touch ${CANARY}\`'` },
  { name: `web;touch ${CANARY}`, quoted: `'web;touch ${CANARY}'` },
  { name: `it's "web"`, quoted: `'it'\\''s "web"'` },
  { name: `web\ntouch ${CANARY}`, quoted: `'web\ntouch ${CANARY}'` },
  { name: 'my web', quoted: "'my web'" },
];

function deployment(name: string, namespace: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
  };
}

/** The literal troubleshooting texts of an injected Deployment, given the quoted words. */
function expectedTroubleshooting(resource: string, ns: string, nsProse: string): string[] {
  return [
    `Check the namespace labels: kubectl get namespace ${ns} --show-labels (istio-injection=disabled or gardener.cloud/purpose=kube-system turn injection off; istio.io/rev must name this injector's revision)`,
    `Check the pod template label and annotation sidecar.istio.io/inject: kubectl get ${resource} -n ${ns} -o jsonpath='{.spec.template.metadata.labels}{"\\n"}{.spec.template.metadata.annotations}' (the label wins over the annotation; only "true" and "false" count)`,
    `Check that ${nsProse} is not excluded: excludedNamespaces of the mesh-webhook configuration (istio-system, kube-system) and Istio's system namespaces`,
    `Check that the API server calls the webhook for this pod: kubectl get mutatingwebhookconfiguration mesh-webhook -o yaml (namespaceSelector and objectSelector; the objectSelector skips pods labelled sidecar.istio.io/inject=false before the webhook sees them), and the webhook's log line for the pod (decision and reason)`,
    `Labels and annotations act when a pod is created: after changing them, kubectl rollout restart ${resource} -n ${ns}`,
    `Check that the running pods have the sidecar: kubectl get pods -n ${ns} -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.initContainers[*].name}{" "}{.spec.containers[*].name}{"\\n"}{end}' (istio-proxy is an init container when native)`,
  ];
}

/** The shell commands inside the troubleshooting steps and the change (without the prose around them). */
function commandsOf(e: Explanation): { get: string; getTemplate: string; restart: string; pods: string } {
  const between = (text: string, end: string) => text.slice(text.indexOf('kubectl '), text.lastIndexOf(end));
  return {
    get: between(e.troubleshooting[0]!, ' (istio-injection=disabled or'),
    getTemplate: between(e.troubleshooting[1]!, ' (the label wins'),
    restart: e.troubleshooting[4]!.slice(e.troubleshooting[4]!.indexOf('kubectl ')),
    pods: between(e.troubleshooting[5]!, ' (istio-proxy is'),
  };
}

describe('explainer: hostile names are quoted in every suggested command', () => {
  const explainer = createExplainer(createInjector(loadConfig({})));

  it.each(HOSTILE)('name and namespace $name', ({ name, quoted }) => {
    const e = explainer.explain(deployment(name, name))!;
    expect(e.injector.outcome).toBe('injected');
    expect(e.troubleshooting).toEqual(expectedTroubleshooting(`'deployment/${quoted.slice(1)}`, quoted, name));

    const c = commandsOf(e);
    expect(kubectlArgs(c.get)).toEqual(['get', 'namespace', name, '--show-labels']);
    expect(kubectlArgs(c.getTemplate)).toEqual([
      'get',
      `deployment/${name}`,
      '-n',
      name,
      '-o',
      'jsonpath={.spec.template.metadata.labels}{"\\n"}{.spec.template.metadata.annotations}',
    ]);
    expect(kubectlArgs(c.restart)).toEqual(['rollout', 'restart', `deployment/${name}`, '-n', name]);
    expect(kubectlArgs(c.pods)[0]).toBe('get');
    expect(kubectlArgs(c.pods).slice(1, 3)).toEqual(['pods', '-n']);
    expect(kubectlArgs(c.pods)[3]).toBe(name);
    expect(existsSync(CANARY)).toBe(false);
  });

  it('kubectl label namespace (rules namespaceInjectionDisabled and namespaceRevision): the namespace is quoted', () => {
    for (const { name, quoted } of HOSTILE) {
      const disabled = createExplainer(createInjector(loadConfig({ sets: [`namespaceLabels=${JSON.stringify({ [name]: { 'istio-injection': 'disabled' } })}`] })));
      const e1 = disabled.explain(deployment('web', name))!;
      expect(e1.decision.rule).toBe('namespaceInjectionDisabled');
      expect(e1.change).toBe(`kubectl label namespace ${quoted} istio-injection-`);
      expect(e1.steps.find((s) => s.rule === 'namespaceInjectionDisabled')!.change).toBe(e1.change);
      expect(kubectlArgs(e1.change)).toEqual(['label', 'namespace', name, 'istio-injection-']);

      const canary = createExplainer(createInjector(loadConfig({ sets: [`namespaceLabels=${JSON.stringify({ [name]: { 'istio.io/rev': 'canary' } })}`] })));
      const e2 = canary.explain(deployment('web', name))!;
      expect(e2.decision.rule).toBe('namespaceRevision');
      expect(e2.change).toBe(`kubectl label namespace ${quoted} istio.io/rev=default --overwrite (or remove the label)`);
      expect(kubectlArgs(e2.change.slice(0, -' (or remove the label)'.length))).toEqual(['label', 'namespace', name, 'istio.io/rev=default', '--overwrite']);
    }
    expect(existsSync(CANARY)).toBe(false);
  });

  it('the other kinds: CronJob, ReplicaSet, Job, Pod', () => {
    const name = 'web$(id)';
    const ns = "team's";
    const template = { metadata: {}, spec: { containers: [{ name: 'c', image: 'x' }] } };
    const restart = (object: object) => explainer.explain(object)!.troubleshooting[4];
    expect(restart({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace: ns }, spec: { jobTemplate: { spec: { template } } } })).toBe(
      `Labels and annotations act when a pod is created: after changing them, the next Job of CronJob web$(id) gets the change (or kubectl create job '--from=cronjob/web$(id)' <name> -n 'team'\\''s')`,
    );
    expect(restart({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: ns }, spec: { template } })).toBe(
      `Labels and annotations act when a pod is created: after changing them, delete the pods of ReplicaSet web$(id) (kubectl delete pod -n 'team'\\''s' -l <its selector>); it creates them again`,
    );
    expect(restart({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: ns }, spec: { template } })).toBe(
      `Labels and annotations act when a pod is created: after changing them, delete the Job and create it again (kubectl replace --force -f <file> -n 'team'\\''s')`,
    );
    const pod = explainer.explain({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: template.spec })!;
    expect(pod.troubleshooting[1]).toContain(`kubectl get 'pod/web$(id)' -n 'team'\\''s' -o jsonpath=`);
  });

  it('no name (generateName only, or empty) and no namespace: placeholders, not quoted', () => {
    const e = explainer.explain({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-' }, spec: { containers: [{ name: 'c', image: 'x' }] } })!;
    expect(e.name).toBe('(generateName web-)');
    expect(e.troubleshooting[0]).toContain('kubectl get namespace <namespace> --show-labels');
    expect(e.troubleshooting[1]).toContain("kubectl get pod/<name> -n <namespace> -o jsonpath='{.metadata.labels}");
    const d = explainer.explain(deployment('', 'shop'))!;
    expect(d.troubleshooting[4]).toBe('Labels and annotations act when a pod is created: after changing them, kubectl rollout restart deployment/<name> -n shop');
  });

  it('safe names stay bare (the commands read as before)', () => {
    const e = explainer.explain(deployment('web-1', 'shop'))!;
    expect(e.troubleshooting).toEqual(expectedTroubleshooting('deployment/web-1', 'shop', 'shop'));
  });
});

describe('mesh-webhook explain (the built CLI) with hostile names', () => {
  let file: string;
  beforeAll(() => {
    ensureBuilt();
    file = join(dir, 'hostile.yaml');
    writeFileSync(file, HOSTILE.map(({ name }) => stringify(deployment(name, name))).join('---\n'));
  }, 120_000);

  it('-o json: the commands are quoted, and run as the names', async () => {
    const r = await cli(['explain', '-f', file, '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Explanation[];
    expect(out).toHaveLength(HOSTILE.length);
    out.forEach((e, i) => {
      const { name, quoted } = HOSTILE[i]!;
      expect(e.troubleshooting).toEqual(expectedTroubleshooting(`'deployment/${quoted.slice(1)}`, quoted, name));
      expect(kubectlArgs(commandsOf(e).restart)).toEqual(['rollout', 'restart', `deployment/${name}`, '-n', name]);
    });
    expect(existsSync(CANARY)).toBe(false);
  });

  it('text: the restart command as printed', async () => {
    const r = await cli(['explain', '-f', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`    5. Labels and annotations act when a pod is created: after changing them, kubectl rollout restart 'deployment/web$(touch ${CANARY})' -n 'web$(touch ${CANARY})'\n`);
    expect(r.stdout).toContain(`kubectl rollout restart 'deployment/it'\\''s "web"' -n 'it'\\''s "web"'\n`);
    expect(r.stdout).toContain("    1. Check the namespace labels: kubectl get namespace 'my web' --show-labels");
    // A name with a newline: the quoted word spans two lines, still one word for the shell.
    expect(r.stdout).toContain(`kubectl rollout restart 'deployment/web\ntouch ${CANARY}' -n 'web\ntouch ${CANARY}'\n`);
    expect(existsSync(CANARY)).toBe(false);
  });

  it('--namespace-labels istio-injection=disabled: "to change it" quotes the namespace', async () => {
    const r = await cli(['explain', '-f', file, '--namespace-labels', 'istio-injection=disabled', '-o', 'json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Explanation[];
    expect(out.map((e) => e.change)).toEqual(HOSTILE.map(({ quoted }) => `kubectl label namespace ${quoted} istio-injection-`));
    out.forEach((e, i) => expect(kubectlArgs(e.change)).toEqual(['label', 'namespace', HOSTILE[i]!.name, 'istio-injection-']));
    expect(existsSync(CANARY)).toBe(false);
  });
});
