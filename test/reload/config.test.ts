/**
 * The configuration reloader on its own: every configuration file is watched, the CLI options are applied again,
 * failures (load or compile) keep the current injector, and a change before the watch started is not missed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import type { InjectorConfig } from '../../src/config/types.js';
import type { Injector } from '../../src/inject/api.js';
import { createInjector } from '../../src/inject/index.js';
import { counterValue, createMetrics } from '../../src/metrics.js';
import { configBaseline, configFiles, reloadConfig, watchConfig, type ReloadLogger } from '../../src/reload/config.js';
import { waitFor } from '../helpers/wait.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-config-reload-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function recordingLogger(): ReloadLogger & { errors: string[]; infos: string[] } {
  const errors: string[] = [];
  const infos: string[] = [];
  return {
    errors,
    infos,
    info: (_o, msg) => infos.push(msg),
    error: (o, msg) => errors.push(`${msg}: ${(o as { reason?: string }).reason}`),
    warn: () => {},
    debug: () => {},
  };
}

test('configFiles: --config, --values and --mesh files, deduplicated; none for profile and --set only', () => {
  expect(configFiles({ configFile: 'c.yaml', valuesFiles: ['v.yaml', 'c.yaml'], meshFiles: ['m.yaml'], sets: ['policy=disabled'] })).toEqual([
    'c.yaml',
    'v.yaml',
    'm.yaml',
  ]);
  expect(
    watchConfig({ load: { sets: ['policy=disabled'] }, apply: () => {}, logger: recordingLogger(), metrics: createMetrics() }),
  ).toBeUndefined();
});

test('a --values file change reloads with all the start options; a change before the watch is not missed', async () => {
  const valuesFile = path.join(tmp, 'values.yaml');
  const meshFile = path.join(tmp, 'mesh.yaml');
  await writeFile(valuesFile, 'global:\n  tag: v1\n');
  await writeFile(meshFile, 'enablePrometheusMerge: true\n');
  const load: LoadConfigOptions = { valuesFiles: [valuesFile], meshFiles: [meshFile], sets: ['policy=disabled'] };
  const baseline = await configBaseline(load);
  let current: Injector = createInjector(loadConfig(load));
  await writeFile(valuesFile, 'global:\n  tag: v2\n'); // after the load, before the watch
  const metrics = createMetrics();
  const reloader = watchConfig({ load, baseline, apply: (i) => (current = i), logger: recordingLogger(), metrics, debounceMs: 20 });
  try {
    await reloader?.ready;
    const values = () => current.config.values as { global: { tag: string } };
    expect(values().global.tag).toBe('v2');
    expect(current.config.policy).toBe('disabled');

    await writeFile(meshFile, 'enablePrometheusMerge: false\n');
    await waitFor('the mesh file reload', () => current.config.meshConfig['enablePrometheusMerge'] === false);
    expect(values().global.tag).toBe('v2');
    expect(current.config.policy).toBe('disabled');
    expect(await counterValue(metrics.configReloads, 'success')).toBe(2);
  } finally {
    reloader?.close();
  }
});

test('reloadConfig: a load error and a compile error both keep the current injector and are counted', async () => {
  const configFile = path.join(tmp, 'bad.yaml');
  await writeFile(configFile, 'nativeSidecars: perhaps\n');
  const metrics = createMetrics();
  const logger = recordingLogger();
  const applied: Injector[] = [];
  expect(reloadConfig({ load: { configFile }, apply: (i) => applied.push(i), logger, metrics })).toBe(false);

  await writeFile(configFile, 'policy: enabled\n');
  const compile = (_c: InjectorConfig): Injector => {
    throw new Error('compile failed');
  };
  expect(reloadConfig({ load: { configFile }, apply: (i) => applied.push(i), compile, logger, metrics })).toBe(false);
  expect(reloadConfig({ load: { configFile }, apply: (i) => applied.push(i), logger, metrics })).toBe(true);

  expect(applied).toHaveLength(1);
  expect(await counterValue(metrics.configReloads, 'failure')).toBe(2);
  expect(await counterValue(metrics.configReloads, 'success')).toBe(1);
  expect(logger.errors).toEqual([
    expect.stringMatching(/^configuration reload failed; keeping the last good configuration: config nativeSidecars: .*perhaps/),
    'configuration reload failed; keeping the last good configuration: compile failed',
  ]);
  expect(logger.infos).toEqual(['configuration reloaded']);
});

test('kyma-module: a change of the --istio-cr file reloads; an invalid resource keeps the last good configuration', async () => {
  const crFile = path.join(tmp, 'istio-cr.yaml');
  const resource = (memory: string) => `apiVersion: operator.kyma-project.io/v1alpha2\nkind: Istio\nspec:\n  components:\n    proxy:\n      k8s:\n        resources:\n          limits: {memory: ${memory}}\n`;
  await writeFile(crFile, resource('300Mi'));
  const load: LoadConfigOptions = { profile: 'kyma-module', clusterSize: 'production', istioCustomResourceFile: crFile };
  expect(configFiles(load)).toEqual([crFile]);
  const baseline = await configBaseline(load);
  let current: Injector = createInjector(loadConfig(load));
  const metrics = createMetrics();
  const logger = recordingLogger();
  const reloader = watchConfig({ load, baseline, apply: (i) => (current = i), logger, metrics, debounceMs: 20 });
  const memoryLimit = () => ((current.config.values.global as { proxy: { resources: { limits: { memory: string } } } }).proxy.resources.limits.memory);
  try {
    await reloader?.ready;
    expect(memoryLimit()).toBe('300Mi');
    await writeFile(crFile, resource('400Mi'));
    await waitFor('the reload of the resource', () => memoryLimit() === '400Mi');
    await writeFile(crFile, resource('lots'));
    await waitFor('the invalid resource to be refused', async () => (await counterValue(metrics.configReloads, 'failure')) === 1);
    expect(memoryLimit()).toBe('400Mi');
    expect(logger.errors.at(-1)).toContain('config istioCustomResource.spec.components.proxy.k8s.resources.limits.memory: must be a quoted memory quantity');
  } finally {
    reloader?.close();
  }
});

test("Istio's files (--valuesFile, --injectConfigFile) are watched: a change reloads; a refused template keeps the last good configuration", async () => {
  const values = path.join(tmp, 'istio-values.json');
  const config = path.join(tmp, 'inject-config.yaml');
  await writeFile(values, JSON.stringify({ global: { hub: 'one.example.com/istio' } }));
  await writeFile(config, 'policy: enabled\n');
  const load: LoadConfigOptions = { istio: { values: { file: values }, injector: { file: config } } };
  expect(configFiles(load)).toEqual([values, config]);
  const baseline = await configBaseline(load);
  let current: Injector = createInjector(loadConfig(load));
  const metrics = createMetrics();
  const logger = recordingLogger();
  const reloader = watchConfig({ load, baseline, apply: (i) => (current = i), logger, metrics, debounceMs: 20 });
  const hub = () => (current.config.values.global as { hub: string }).hub;
  try {
    await reloader?.ready;
    await writeFile(values, JSON.stringify({ global: { hub: 'two.example.com/istio' } }));
    await waitFor('the reload of the values', () => hub() === 'two.example.com/istio');
    await writeFile(config, 'templates:\n  sidecar: |\n    spec: {}\n');
    await waitFor('the custom template to be refused', async () => (await counterValue(metrics.configReloads, 'failure')) === 1);
    expect(hub()).toBe('two.example.com/istio');
    expect(current.config.policy).toBe('enabled');
    expect(logger.errors.at(-1)).toContain(`--injectConfigFile ${config}: templates.sidecar is not a stock Istio template (a custom template)`);
  } finally {
    reloader?.close();
  }
});
