/**
 * `inject` and `validate` run themselves again with a small young generation when their input is big or a pipe
 * (src/cli/youngGeneration.ts): when they do, what the caller sees (output, exit code, stdin) is the same.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.js';
import { RELAUNCH_BYTES, wantsSmallYoungGeneration, YOUNG_GENERATION_FLAG, type ProcessView } from '../../src/cli/youngGeneration.js';
import { cliMain, ensureBuilt, nodeBin, root } from '../helpers/build.js';

const view = (sizes: Record<string, number | undefined>, extra: Partial<ProcessView> = {}): ProcessView => ({
  execArgv: [],
  env: {},
  sizeOf: (filename) => sizes[filename],
  ...extra,
});

describe('when inject and validate run again with a small young generation', () => {
  const big = RELAUNCH_BYTES + 1;

  it('for more input than the threshold in all -f files, or a pipe on stdin', () => {
    expect(wantsSmallYoungGeneration(parseCommandLine(['inject', '-f', 'a.yaml']), view({ 'a.yaml': big }))).toBe(true);
    expect(wantsSmallYoungGeneration(parseCommandLine(['validate', '-f', 'a.yaml', '-f', 'b.yaml']), view({ 'a.yaml': big / 2, 'b.yaml': big / 2 + 1 }))).toBe(true);
    expect(wantsSmallYoungGeneration(parseCommandLine(['validate', '-f', '-']), view({ '-': undefined }))).toBe(true);
  });

  it('not for small files, stdin redirected from a small file, other commands, or validate --list', () => {
    expect(wantsSmallYoungGeneration(parseCommandLine(['inject', '-f', 'a.yaml']), view({ 'a.yaml': 1000 }))).toBe(false);
    expect(wantsSmallYoungGeneration(parseCommandLine(['validate', '-f', '-']), view({ '-': 1000 }))).toBe(false);
    expect(wantsSmallYoungGeneration(parseCommandLine(['explain', '-f', 'a.yaml']), view({ 'a.yaml': big }))).toBe(false);
    expect(wantsSmallYoungGeneration(parseCommandLine(['validate', '--list']), view({}))).toBe(false);
  });

  it('never twice, and not when the operator chose a young generation size', () => {
    const cmd = parseCommandLine(['inject', '-f', 'a.yaml']);
    expect(wantsSmallYoungGeneration(cmd, view({ 'a.yaml': big }, { env: { MESH_WEBHOOK_YOUNG_GENERATION: '1' } }))).toBe(false);
    expect(wantsSmallYoungGeneration(cmd, view({ 'a.yaml': big }, { env: { NODE_OPTIONS: '--max-semi-space-size=16' } }))).toBe(false);
    expect(wantsSmallYoungGeneration(cmd, view({ 'a.yaml': big }, { execArgv: ['--max-semi-space-size=64'] }))).toBe(false);
  });
});

describe('the CLI run again', () => {
  let dir: string;
  let recorder: string;
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mesh-webhook-young-'));
    // Preloaded into the CLI and passed on to the process it starts: each process records its node flags.
    recorder = path.join(dir, 'record.mjs');
    writeFileSync(recorder, `import { appendFileSync } from 'node:fs';\nappendFileSync(process.env.RECORD, JSON.stringify(process.execArgv.filter((a) => a.startsWith('--max'))) + '\\n');\n`);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(args: string[], input: string, name: string) {
    const record = path.join(dir, `${name}.jsonl`);
    const r = spawnSync(nodeBin, ['--import', recorder, cliMain, ...args], { cwd: root, input, encoding: 'utf8', env: { ...process.env, RECORD: record }, timeout: 60_000 });
    const flags = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, flags };
  }

  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: app, image: app:1}]}\n';

  it('inject from a pipe: the same injected output, written once, by a second process with the flag', () => {
    const r = run(['inject', '-f', '-'], pod, 'inject');
    expect(r.status, r.stderr).toBe(0);
    expect(r.flags).toEqual([[], [YOUNG_GENERATION_FLAG]]);
    expect(r.stdout.match(/name: istio-proxy/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/^kind: Pod$/m);
  });

  it("validate from a pipe: the child's exit code is the command's", () => {
    const bad = pod.replace('metadata: {name: web, namespace: shop}', 'metadata: {name: web, namespace: shop, annotations: {sidecar.istio.io/proxyCPU: "lots"}}');
    const r = run(['validate', '-f', '-'], bad, 'validate');
    expect(r.flags).toEqual([[], [YOUNG_GENERATION_FLAG]]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^error /m);
  });

  it('a small file is injected in the first process', () => {
    const file = path.join(dir, 'pod.yaml');
    writeFileSync(file, pod);
    const r = run(['inject', '-f', file], '', 'small');
    expect(r.status, r.stderr).toBe(0);
    expect(r.flags).toEqual([[]]);
  });
});
