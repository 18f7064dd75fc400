#!/usr/bin/env node
/**
 * Regenerates src/config/istioInstallData.ts from an Istio git directory: what mesh-webhook needs to read an Istio
 * installation's own configuration (src/config/istioInputs.ts).
 *
 * - The stock `sidecar` injection template of every Istio release from 1.20 on and of the commit mesh-webhook renders,
 *   each as the SHA-256 of its normalized text (the text as the chart writes it into the istio-sidecar-injector
 *   ConfigMap, trimmed, without trailing spaces), with the versions that ship it: a template in a given configuration
 *   is recognised, and the one mesh-webhook renders is accepted.
 * - The names of the other stock templates (gateway, grpc-agent, ...).
 * - The IstioOperator profiles (manifests/profiles/*.yaml): their `spec.values` and CNI component.
 * - The chart's profiles (manifests/helm-profiles/*.yaml: `values.profile`, `compatibilityVersion`, `platform`):
 *   their values, of which src/config/istioInputs.ts keeps what reaches the injector.
 *
 * Usage (after npm run build): node tools/port-istio-install.mjs ISTIO_GIT_DIR COMMIT > src/config/istioInstallData.ts
 *
 * With `--fixtures DIR` it writes instead the test fixtures of an Istio installation at COMMIT in Istio's formats
 * (test/fixtures/istio-config): the istio-sidecar-injector ConfigMap as `kubectl get -o yaml` prints it (the chart's
 * `config` with every stock template; `values` = test/fixtures/istio/defaults/values.yaml as JSON), its two keys as
 * separate files (as `kubectl get -o jsonpath` prints them), and the istio ConfigMap with the chart's `mesh`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const [gitDir, commit, fixturesFlag, fixturesDir] = process.argv.slice(2);
if (!gitDir || !commit) {
  process.stderr.write('usage: node tools/port-istio-install.mjs ISTIO_GIT_DIR COMMIT\n');
  process.exit(2);
}

const git = (...args) => execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const show = (rev, path) => {
  try {
    return git('show', `${rev}:${path}`);
  } catch {
    return undefined;
  }
};

const FILES = 'manifests/charts/istio-control/istio-discovery/files';

if (fixturesFlag === '--fixtures') {
  writeFixtures(fixturesDir);
  process.exit(0);
}

function writeFixtures(dir) {
  mkdirSync(dir, { recursive: true });
  const templateFiles = {
    sidecar: 'injection-template.yaml',
    gateway: 'gateway-injection-template.yaml',
    'grpc-simple': 'grpc-simple.yaml',
    'grpc-agent': 'grpc-agent.yaml',
    waypoint: 'waypoint.yaml',
    'kube-gateway': 'kube-gateway.yaml',
    agentgateway: 'agentgateway.yaml',
    'agentgateway-waypoint': 'agentgateway-waypoint.yaml',
  };
  const templates = Object.fromEntries(Object.entries(templateFiles).map(([name, file]) => [name, `${show(commit, `${FILES}/${file}`).trim()}\n`]));
  // The `config` key as istiod-injector-configmap.yaml renders it for the default install.
  const config = stringify(
    {
      defaultTemplates: ['sidecar'],
      policy: 'enabled',
      alwaysInjectSelector: [],
      neverInjectSelector: [],
      injectedAnnotations: {},
      template: '{{ Template_Version_And_Istio_Version_Mismatched_Check_Installation }}',
      templates,
    },
    { lineWidth: 0 },
  );
  const values = JSON.stringify(parse(readFileSync('test/fixtures/istio/defaults/values.yaml', 'utf8')), null, 2);
  // The `mesh` the chart renders for the default install (configmap.yaml's "mesh" define).
  const mesh = stringify({
    defaultConfig: { discoveryAddress: 'istiod.istio-system.svc:15012' },
    defaultProviders: { metrics: ['prometheus'] },
    enablePrometheusMerge: true,
    rootNamespace: 'istio-system',
    trustDomain: 'cluster.local',
  });
  const labels = { 'app.kubernetes.io/name': 'istiod', 'install.operator.istio.io/owning-resource': 'unknown', 'istio.io/rev': 'default', 'operator.istio.io/component': 'Pilot', release: 'istio' };
  const configMap = (name, uid, data) =>
    stringify(
      {
        apiVersion: 'v1',
        data,
        kind: 'ConfigMap',
        metadata: { creationTimestamp: '2026-08-22T19:00:53Z', labels, name, namespace: 'istio-system', resourceVersion: '1021', uid },
      },
      { lineWidth: 0 },
    );
  writeFileSync(join(dir, 'istio-sidecar-injector.yaml'), configMap('istio-sidecar-injector', '5b1f0c6e-7f53-4c55-9d0a-2f7d3c1f0a01', { config, values }));
  writeFileSync(join(dir, 'istio.yaml'), configMap('istio', '5b1f0c6e-7f53-4c55-9d0a-2f7d3c1f0a02', { mesh, meshNetworks: 'networks: {}' }));
  writeFileSync(join(dir, 'inject-config.yaml'), config);
  writeFileSync(join(dir, 'values.json'), `${values}\n`);
  writeFileSync(join(dir, 'mesh.yaml'), mesh);
}
// The digest the loader compares with (build first: npm run build).
const { templateDigest: sha256 } = await import('../dist/config/istioInputs.js');

// ---- the stock sidecar templates --------------------------------------------------------------------------------

const shortCommit = commit.slice(0, 12);
const releases = git('tag', '--list')
  .split('\n')
  .filter((t) => /^1\.(\d+)\.\d+$/.test(t) && Number(t.split('.')[1]) >= 20)
  .sort((a, b) => {
    const [, am, ap] = a.split('.').map(Number);
    const [, bm, bp] = b.split('.').map(Number);
    return am - bm || ap - bp;
  });
const byHash = new Map();
const add = (version, text) => {
  if (text === undefined) return;
  const hash = sha256(text);
  if (!byHash.has(hash)) byHash.set(hash, []);
  byHash.get(hash).push(version);
};
for (const tag of releases) add(tag, show(tag, `${FILES}/injection-template.yaml`));
const rendered = show(commit, `${FILES}/injection-template.yaml`);
if (rendered === undefined) throw new Error(`no injection-template.yaml at ${commit}`);
const renderedHash = sha256(rendered);
add(`${(show(commit, 'VERSION') ?? '').trim() || 'master'}-dev (istio/istio ${shortCommit})`, rendered);

// ---- the other stock templates -----------------------------------------------------------------------------------

const configMapTemplate = show(commit, 'manifests/charts/istio-control/istio-discovery/templates/istiod-injector-configmap.yaml');
const otherTemplates = [...configMapTemplate.matchAll(/hasKey \.Values\.sidecarInjectorWebhook\.templates "([^"]+)"/g)]
  .map((m) => m[1])
  .filter((name) => name !== 'sidecar');

// ---- profiles ----------------------------------------------------------------------------------------------------

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const listDir = (path) =>
  git('ls-tree', '--name-only', `${commit}:${path}`)
    .split('\n')
    .filter((f) => f.endsWith('.yaml'));

const iopProfiles = {};
for (const file of listDir('manifests/profiles')) {
  const spec = parse(show(commit, `manifests/profiles/${file}`)).spec ?? {};
  const profile = { values: spec.values ?? {} };
  const cni = spec.components?.cni?.enabled;
  if (typeof cni === 'boolean') profile.cniEnabled = cni;
  if (spec.meshConfig !== undefined) profile.meshConfig = spec.meshConfig;
  iopProfiles[file.replace(/\.yaml$/, '')] = profile;
}

const helmProfiles = {};
for (const file of listDir('manifests/helm-profiles')) {
  const values = parse(show(commit, `manifests/helm-profiles/${file}`)) ?? {};
  helmProfiles[file.replace(/\.yaml$/, '')] = values;
}

const json = (v) => JSON.stringify(v, null, 2);
process.stdout.write(`// Generated by tools/port-istio-install.mjs from istio/istio ${shortCommit} (see src/config/NOTICE); do not edit.
import type { JsonObject } from '../k8s/types.js';

/** A stock \`sidecar\` template: the SHA-256 of its normalized text and the Istio versions that ship it. */
export interface StockTemplate {
  readonly sha256: string;
  readonly versions: readonly string[];
}

/** The \`sidecar\` template mesh-webhook renders (Istio's injection-template.yaml at the commit of its fixtures). */
export const RENDERED_SIDECAR_TEMPLATE = ${json(renderedHash)};

/** The stock \`sidecar\` templates of Istio 1.20 and later, and the rendered one. */
export const STOCK_SIDECAR_TEMPLATES: readonly StockTemplate[] = ${json([...byHash].map(([sha, versions]) => ({ sha256: sha, versions })))};

/** The other templates Istio's chart writes into the istio-sidecar-injector ConfigMap. */
export const OTHER_STOCK_TEMPLATES: readonly string[] = ${json(otherTemplates)};

/** An IstioOperator profile (manifests/profiles): its values and whether it turns the CNI component on or off. */
export interface IstioOperatorProfile {
  readonly values: JsonObject;
  readonly cniEnabled?: boolean;
  readonly meshConfig?: JsonObject;
}

export const ISTIO_OPERATOR_PROFILES: Readonly<Record<string, IstioOperatorProfile>> = ${json(iopProfiles)};

/**
 * The chart's profiles (manifests/helm-profiles, file name without .yaml): the values they set, \`meshConfig\` for the
 * istio ConfigMap's mesh.
 */
export const ISTIO_CHART_PROFILES: Readonly<Record<string, JsonObject>> = ${json(helmProfiles)};
`);
