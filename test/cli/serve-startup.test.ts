/**
 * `mesh-webhook serve` start-up errors through the built CLI as a process: a port in use (webhook and metrics
 * listener), a --host that is no address of this machine or does not resolve, and a file flag that names no readable
 * file. Each is one line on stderr naming the flag and the fix, exit code 1, no stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let busy: net.Server;
let busyPort: number;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'mesh-webhook-startup-'));
  busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as net.AddressInfo).port;
}, 120_000);
afterAll(async () => {
  await new Promise<void>((resolve) => busy.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on (bound once by the test, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** `serve <args>`; a serve that starts after all is killed after 30 s (and the test fails on its status). */
function serve(args: string[], cwd = dir) {
  const r = runCli(['serve', '--shutdown-delay', '0s', ...args], { cwd, timeoutMs: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('a listener that cannot bind names its flag', () => {
  test('the webhook --port in use', () => {
    expect(serve(['--port', String(busyPort), '--metrics-port', '0'])).toEqual({
      status: 1,
      stderr: `error: --port ${busyPort} is in use by another process on 127.0.0.1 (another mesh-webhook serve?): stop it, or choose another with --port N (0 picks a free port)\n`,
    });
  });

  test('the --metrics-port in use (9090 by default, where a local Prometheus runs)', () => {
    expect(serve(['--port', '0', '--metrics-port', String(busyPort)])).toEqual({
      status: 1,
      stderr: `error: --metrics-port ${busyPort} is in use by another process on 127.0.0.1 (a local Prometheus?): stop it, or choose another with --metrics-port N, or 0 for no metrics listener\n`,
    });
  });

  test('a --host that is no IP address and does not resolve', () => {
    for (const host of ['999.1.1.1', 'no-such-host.invalid']) {
      expect(serve(['--port', '0', '--metrics-port', '0', '--host', host]), host).toEqual({
        status: 1,
        stderr: `error: --host ${host} is neither an IP address nor a host name that resolves: give an address of this machine to --host, or 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)\n`,
      });
    }
  });

  test('a --host or --metrics-host that is not an address of this machine (TEST-NET-1)', async () => {
    expect(serve(['--port', '0', '--metrics-port', '0', '--host', '192.0.2.1'])).toEqual({
      status: 1,
      stderr: 'error: --host 192.0.2.1 is not an address of this machine: give one of its addresses to --host, or 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)\n',
    });
    expect(serve(['--port', '0', '--metrics-port', String(await freePort()), '--metrics-host', '192.0.2.1'])).toEqual({
      status: 1,
      stderr: 'error: --metrics-host 192.0.2.1 is not an address of this machine: give one of its addresses to --metrics-host, or 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)\n',
    });
  });
});

describe('a file flag that names no readable file names the flag', () => {
  test.each([
    [['--config', 'missing.yaml'], 'error: --config file missing.yaml does not exist: pass the path of the injector configuration (YAML) to --config\n'],
    [['--values', 'a-directory'], 'error: --values file a-directory is a directory, not a file: pass the path of a Helm values file (YAML) to --values\n'],
    [['--cert', 'a-directory', '--key', 'missing.key'], 'error: --cert file a-directory is a directory, not a file: pass the path of the serving certificate (PEM) to --cert\n'],
    [['--cert', 'missing.crt', '--key', 'missing.key'], 'error: --cert file missing.crt does not exist: pass the path of the serving certificate (PEM) to --cert\n'],
    [['--client-ca', 'missing.pem'], "error: --client-ca file missing.pem does not exist: pass the path of the CA bundle (PEM) of the API server's client certificate to --client-ca\n"],
    [['--kubeconfig', 'a-directory'], 'error: --kubeconfig file a-directory is a directory, not a file: pass the path of a kubeconfig file to --kubeconfig\n'],
  ])('%j', (flags, stderr) => {
    mkdirSync(path.join(dir, 'a-directory'), { recursive: true });
    expect(serve(['--port', '0', '--metrics-port', '0', ...flags])).toEqual({ status: 1, stderr });
  });
});

test('development certificates that cannot be written (a file where .dev-certs should be) name the directory and the way out', () => {
  const cwd = path.join(dir, 'blocked');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(path.join(cwd, '.dev-certs'), 'not a directory\n');
  const devCerts = path.join(cwd, '.dev-certs');
  expect(serve(['--port', '0', '--metrics-port', '0'], cwd)).toEqual({
    status: 1,
    stderr: `error: development certificates cannot be kept in ${devCerts} (EEXIST: file already exists, mkdir '${devCerts}'): run serve in a writable directory, or serve your own certificate with --cert FILE --key FILE\n`,
  });
});
