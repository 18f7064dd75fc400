/**
 * The configuration reloader with inputs that are not files (ConfigInputs: serve's configuration from the cluster,
 * here a stand-in whose text the test sets): a change of either the file or the inputs reloads with the latest of
 * both; inputs that cannot give their part (a deleted ConfigMap) fail the reload, which keeps the last good
 * configuration and is counted; close() stops both.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import type { Injector } from '../../src/inject/api.js';
import { createInjector } from '../../src/inject/index.js';
import { counterValue, createMetrics } from '../../src/metrics.js';
import { configBaseline, watchConfig, type ConfigInputs, type ReloadLogger } from '../../src/reload/config.js';
import { waitFor } from '../helpers/wait.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-config-inputs-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A stand-in for the cluster's objects: one mesh text, or gone (merge throws, as for a deleted ConfigMap). */
function meshInput(initial: string) {
  let mesh: string | undefined = initial;
  let onChange: ((trigger: string) => void) | undefined;
  const inputs: ConfigInputs = {
    sources: ['ConfigMap istio-system/istio'],
    merge: (load: LoadConfigOptions) => {
      if (mesh === undefined) throw new Error('ConfigMap istio-system/istio (--mesh-configmap) was deleted');
      return { ...load, istio: { ...load.istio, mesh: { origin: 'ConfigMap istio-system/istio, key mesh', text: mesh } } };
    },
    watch: (cb) => {
      onChange = cb;
      return () => {
        onChange = undefined;
      };
    },
  };
  return {
    inputs,
    set(text: string | undefined) {
      mesh = text;
      onChange?.(text === undefined ? 'ConfigMap istio-system/istio deleted' : 'ConfigMap istio-system/istio changed');
    },
    watched: () => onChange !== undefined,
  };
}

function recordingLogger(): ReloadLogger & { lines: { msg: string; obj: Record<string, unknown> }[] } {
  const lines: { msg: string; obj: Record<string, unknown> }[] = [];
  const at = (obj: object, msg: string) => lines.push({ msg, obj: obj as Record<string, unknown> });
  return { lines, info: at, error: at, warn: () => {}, debug: () => {} };
}

test('a file change and an inputs change each reload with the latest of both; a missing input keeps the last good', async () => {
  const configFile = path.join(tmp, 'config.yaml');
  await writeFile(configFile, 'values:\n  global:\n    tag: file-1\n');
  const mesh = meshInput('enablePrometheusMerge: false\n');
  const load: LoadConfigOptions = { configFile, profile: 'istio' };
  const baseline = await configBaseline(load);
  let current: Injector = createInjector(loadConfig(mesh.inputs.merge(load)));
  const metrics = createMetrics();
  const logger = recordingLogger();
  const reloader = watchConfig({ load, inputs: mesh.inputs, baseline, apply: (i) => (current = i), logger, metrics, debounceMs: 20 });
  const tag = () => (current.config.values as { global: { tag: unknown } }).global.tag;
  const merge = () => current.config.meshConfig['enablePrometheusMerge'];
  try {
    await reloader?.ready;
    expect([tag(), merge()]).toEqual(['file-1', false]);

    mesh.set('enablePrometheusMerge: true\n');
    expect([tag(), merge()]).toEqual(['file-1', true]); // the reload is synchronous
    await writeFile(configFile, 'values:\n  global:\n    tag: file-2\n');
    await waitFor('the file reload', () => tag() === 'file-2');
    expect(merge()).toBe(true); // the inputs' latest

    const before = current;
    mesh.set(undefined);
    expect(current).toBe(before);
    await writeFile(configFile, 'values:\n  global:\n    tag: file-3\n');
    await waitFor('the failed file reload', async () => (await counterValue(metrics.configReloads, 'failure')) === 2);
    expect(current).toBe(before); // neither the deletion nor the file change while it is gone replaced it

    mesh.set('enablePrometheusMerge: false\n');
    expect([tag(), merge()]).toEqual(['file-3', false]);
    expect(await counterValue(metrics.configReloads, 'success')).toBe(3);
    const failed = logger.lines.filter((l) => l.msg === 'configuration reload failed; keeping the last good configuration');
    expect(failed.map((l) => [l.obj.change, l.obj.reason])).toEqual([
      ['ConfigMap istio-system/istio deleted', 'ConfigMap istio-system/istio (--mesh-configmap) was deleted'],
      [undefined, 'ConfigMap istio-system/istio (--mesh-configmap) was deleted'],
    ]);
    expect(failed.every((l) => JSON.stringify(l.obj.sources) === '["ConfigMap istio-system/istio"]')).toBe(true);
  } finally {
    reloader?.close();
  }
  expect(mesh.watched()).toBe(false);
});

test('inputs without any file are still watched', () => {
  const mesh = meshInput('enablePrometheusMerge: false\n');
  let current: Injector | undefined;
  const reloader = watchConfig({ load: { profile: 'istio' }, inputs: mesh.inputs, apply: (i) => (current = i), logger: recordingLogger(), metrics: createMetrics() });
  expect(reloader?.files).toEqual([]);
  mesh.set('enablePrometheusMerge: true\n');
  expect(current?.config.meshConfig['enablePrometheusMerge']).toBe(true);
  reloader?.close();
  expect(mesh.watched()).toBe(false);
});
