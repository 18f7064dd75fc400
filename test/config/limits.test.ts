/**
 * The `limits` configuration key (the count caps of src/admission/limits.ts): defaults in both profiles, a file or
 * `--set` changes some keys and keeps the others, bad values are refused naming the key.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';

const DEFAULTS = { labels: 1024, annotations: 1024, annotationBytes: 262144, containers: 256, env: 8192, ports: 2048, volumes: 1024, volumeMounts: 4096, jsonTokens: 262144 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-limits-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('limits', () => {
  test('both profiles carry the defaults', () => {
    expect(loadConfig({}).limits).toEqual(DEFAULTS);
    expect(loadConfig({ profile: 'istio' }).limits).toEqual(DEFAULTS);
  });

  test('a config file and --set change the keys they name and keep the others', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'limits:\n  labels: 64\n  env: 20000\n');
    expect(loadConfig({ configFile: file }).limits).toEqual({ ...DEFAULTS, labels: 64, env: 20000 });
    expect(loadConfig({ configFile: file, sets: ['limits.containers=8'] }).limits).toEqual({ ...DEFAULTS, labels: 64, env: 20000, containers: 8 });
  });

  test.each([
    ['limits.labels=0', 'config limits.labels: must be an integer 1..100000000; got number 0'],
    ['limits.ports=1.5', 'config limits.ports: must be an integer 1..100000000; got number 1.5'],
    ['limits.env="many"', 'config limits.env: must be an integer 1..100000000; got "many"'],
    ['limits.volumes=100000001', 'config limits.volumes: must be an integer 1..100000000; got number 100000001'],
    ['limits.lables=5', 'config limits.lables: must be absent: the keys are labels, annotations, annotationBytes, containers, env, ports, volumes, volumeMounts, jsonTokens; got "lables"'],
  ])('%s is refused naming the key', (set, message) => {
    expect(() => loadConfig({ sets: [set] })).toThrow(ConfigError);
    expect(() => loadConfig({ sets: [set] })).toThrow(message);
  });
});
