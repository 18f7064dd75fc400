/**
 * Hot reload with the load-time checks of issue 13: an unknown values key or a malformed image reference in the
 * changed file keeps the last good configuration (logged with the reason, counted as a failure); a good change with a
 * key Istio knows but the injector does not read is applied and that key logged once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import type { Injector } from '../../src/inject/api.js';
import { createInjector } from '../../src/inject/index.js';
import { counterValue, createMetrics } from '../../src/metrics.js';
import { configBaseline, watchConfig, type ReloadLogger } from '../../src/reload/config.js';
import { waitFor } from '../helpers/wait.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-reload-checks-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('a bad new configuration keeps the old one; notes are logged once per reload', async () => {
  const configFile = path.join(tmp, 'config.yaml');
  await writeFile(configFile, 'values:\n  global:\n    hub: docker.io/istio\n');
  const load: LoadConfigOptions = { configFile };
  const baseline = await configBaseline(load);
  let current: Injector = createInjector(loadConfig(load));
  const first = current;
  const errors: string[] = [];
  const infos: string[] = [];
  const logger: ReloadLogger = {
    info: (_o, msg) => infos.push(msg),
    error: (o, msg) => errors.push(`${msg}: ${(o as { reason?: string }).reason}`),
    warn: () => {},
    debug: () => {},
  };
  const metrics = createMetrics();
  const reloader = watchConfig({ load, baseline, apply: (i) => (current = i), logger, metrics, debounceMs: 20 });
  try {
    await reloader?.ready;
    const hub = () => (current.config.values as { global: { hub: string } }).global.hub;

    await writeFile(configFile, 'values:\n  global:\n    hubb: registry.example/istio\n');
    await waitFor('the first failed reload', async () => (await counterValue(metrics.configReloads, 'failure')) === 1);
    await writeFile(configFile, 'values:\n  global:\n    hub: ""\n');
    await waitFor('the second failed reload', async () => (await counterValue(metrics.configReloads, 'failure')) === 2);
    expect(current).toBe(first);
    expect(hub()).toBe('docker.io/istio');
    expect(errors).toEqual([
      'configuration reload failed; keeping the last good configuration: config values.global.hubb: unknown key; did you mean hub?',
      'configuration reload failed; keeping the last good configuration: config values.global.hub: must be a registry and repository path such as docker.io/istio or registry.example:5000/istio (path components of letters and digits joined by . _ or -, separated by /); got ""',
    ]);

    await writeFile(configFile, 'values:\n  global:\n    hub: registry.example:5000/istio\n  pilot:\n    autoscaleEnabled: false\n');
    await waitFor('the good reload', () => hub() === 'registry.example:5000/istio');
    expect(infos).toEqual([
      'configuration reloaded',
      'keys Istio knows but the injector does not read (they have no effect here): values.pilot.autoscaleEnabled',
    ]);
    expect(await counterValue(metrics.configReloads, 'success')).toBe(1);
  } finally {
    reloader?.close();
  }
});
