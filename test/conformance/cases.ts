/**
 * The Istio conformance cases (test/fixtures/istio/cases.json) and the configuration flags each one runs with.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures/istio');
export const TESTDATA = path.join(FIXTURES, 'testdata');
/** Relative to ROOT (the CLI runs with cwd = ROOT). */
export const VALUES_FILE = 'test/fixtures/istio/defaults/values.yaml';
export const MESH_FILE = 'test/fixtures/istio/defaults/mesh.yaml';

export interface ConformanceCase {
  id: string;
  input: string;
  golden: string | null;
  mode: 'webhook+cli' | 'cli-only';
  nativeSidecars: boolean;
  set: Record<string, unknown>;
  expectError: string | null;
  expectLog: string | null;
  feature: string;
  inScope: boolean;
  outOfScopeReason: string | null;
}

export function loadCases(): ConformanceCase[] {
  const cases = JSON.parse(readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8')) as ConformanceCase[];
  return cases.filter((c) => c.inScope);
}

/** `--set key=<JSON>` expressions for a case, in cases.json order. */
export function setExprs(c: ConformanceCase): string[] {
  return Object.entries(c.set).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
}

/** CLI flags selecting the case's configuration (after `inject -f FILE`). */
export function configFlags(c: ConformanceCase): string[] {
  return [
    '--profile',
    'istio',
    '--values',
    VALUES_FILE,
    '--mesh',
    MESH_FILE,
    ...setExprs(c).flatMap((e) => ['--set', e]),
    '--native-sidecars',
    String(c.nativeSidecars),
  ];
}

/** Options for `loadConfig` equal to {@link configFlags}. */
export function loadConfigOptions(c: ConformanceCase) {
  return {
    profile: 'istio' as const,
    valuesFiles: [path.join(ROOT, VALUES_FILE)],
    meshFiles: [path.join(ROOT, MESH_FILE)],
    sets: setExprs(c),
    nativeSidecars: c.nativeSidecars,
  };
}

/** Cases sharing a configuration can share one webhook server. */
export function configKey(c: ConformanceCase): string {
  return JSON.stringify([setExprs(c), c.nativeSidecars]);
}

export function readTestdata(name: string): string {
  return readFileSync(path.join(TESTDATA, name), 'utf8');
}
