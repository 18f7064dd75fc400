/**
 * Configuration mistakes through the built CLI (dist/, pinned Node 24): an unknown values key or a malformed image
 * reference is one line on stderr and exit 1 for inject, validate and serve (no stack trace); serve logs the keys
 * Istio knows but the injector does not read, once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, spawnServe, type ServeProcess } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mesh-webhook-config-checks-'));
const pod = path.join(dir, 'pod.yaml');

beforeAll(() => {
  ensureBuilt();
  writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: default}\nspec:\n  containers:\n  - {name: app, image: nginx}\n');
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  return runCli(args, { cwd: dir });
}

describe('a configuration mistake is one line and exit 1', () => {
  it.each(['inject', 'validate'])('%s --set values.global.hubb=x', (command) => {
    const r = cli([command, '--set', 'values.global.hubb=x', '-f', pod]);
    expect(r).toEqual({ status: 1, stdout: '', stderr: 'error: config values.global.hubb: unknown key; did you mean hub?\n' });
  });

  it("inject --set values.global.proxy.image='bad image!!'", () => {
    const r = cli(['inject', '--set', 'values.global.proxy.image=bad image!!', '-f', pod]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'error: config values.global.proxy.image: must be an image name such as proxyv2 (letters and digits joined by . _ or -), or a whole reference containing a /; got "bad image!!"\n',
    );
  });

  it('serve --set values.global.hub= exits 1 before listening', () => {
    const r = cli(['serve', '--port', '0', '--metrics-port', '0', '--set', 'values.global.hub=']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error: config values.global.hub: must be a registry and repository path such as docker.io/istio or registry.example:5000/istio (path components of letters and digits joined by . _ or -, separated by /); got ""\n',
    );
  });

  it('inject --set values.global.tag=1.30 keeps the tag as written', () => {
    const r = cli(['inject', '--set', 'values.global.tag=1.30', '-f', pod]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('image: europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30\n');
  });
});

describe('serve with keys Istio knows but the injector does not read', () => {
  let served: ServeProcess | undefined;
  afterAll(() => {
    served?.proc.kill('SIGKILL');
  });

  it('logs them once at start and serves', async () => {
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, 'values:\n  pilot:\n    autoscaleEnabled: false\n');
    served = spawnServe(['--config', config, '--set', 'meshConfig.accessLogFile=/dev/stdout', '--port', '0', '--metrics-port', '0', '--shutdown-delay', '0s'], dir);
    const s = served;
    await waitFor('the listening line', () => s.logs.some((l) => l['msg'] === 'mesh-webhook listening') || s.proc.exitCode !== null, 20_000);
    expect(s.logs.some((l) => l['msg'] === 'mesh-webhook listening'), s.stderr).toBe(true);
    const notes = s.logs.filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('keys Istio knows'));
    expect(notes.map((l) => [l['level'], l['msg']])).toEqual([
      [30, 'keys Istio knows but the injector does not read (they have no effect here): values.pilot.autoscaleEnabled, meshConfig.accessLogFile'],
    ]);
  }, 30_000);
});
