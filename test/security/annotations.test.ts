/**
 * Annotations are data, never code: no annotation makes the injector (or the validator) read a file, reach the
 * network or run anything, and what the operator forbids (hostPath user volumes, proxy images from elsewhere) is
 * refused. Hostile values (test/security/hostile.ts): host paths, file:// and cloud-metadata URLs, shell
 * substitutions, YAML tags, billion laughs, recursive aliases, huge and deeply nested JSON and YAML.
 *
 * 1. Under Node's permission model: a child process (the pinned Node 24) that may read only dist/ and node_modules/
 *    (to load the code) imports dist/inject and dist/validate and injects and validates every case. Any attempt to
 *    read another file, write, or spawn would fail with ERR_ACCESS_DENIED; none does, and every answer is as expected.
 *    (Node 24's permission model does not cover the network.)
 * 2. In process, with the network, DNS, the file system, child processes and fetch replaced by functions that throw
 *    and record: the same cases; nothing is called.
 * 3. The values come out only as data: inside string values of the patch (a configMap name, an env value, an
 *    argument), never as something else.
 */
import childProcess from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import { createValidator } from '../../src/validate/index.js';
import { ensureBuilt, nodeBin, root } from '../helpers/build.js';
import { HOSTILE_CASES, hostilePod, type HostileCase } from './hostile.js';

interface Result {
  name: string;
  kind: string;
  message?: string;
  /** Every string value in the patch. */
  strings?: string[];
  validatorCodes: string[];
  ms: number;
}

function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) stringsOf(v, out);
  return out;
}

function checkResult(c: HostileCase, r: Result): void {
  expect(r.kind, c.name).toBe(c.expect);
  if (c.expect === 'rejected') {
    expect(r.message, c.name).toMatch(new RegExp(c.message ?? ''));
    // The validator reports the same problem before the pod exists (IST0125 invalid annotation, MW0401 unknown template,
    // MW0601 image, MW0602 volume, MW0603-MW0606 what the injected containers would run with).
    expect(r.validatorCodes.some((code) => /^(IST0125|MW0401|MW060[1-6])$/.test(code)), `${c.name}: ${r.validatorCodes.join(',')}`).toBe(true);
  } else {
    for (const d of c.data ?? []) expect((r.strings ?? []).some((s) => s.includes(d)), `${c.name}: ${d}`).toBe(true);
  }
  expect(r.ms, c.name).toBeLessThan(3_000);
}

/** Inject and validate every case with the Kyma profile (what the child process runs too). */
function runCases(): Result[] {
  const config = loadConfig({});
  const injector = createInjector(config);
  const validator = createValidator(config);
  return HOSTILE_CASES.map((c) => {
    const started = performance.now();
    const pod = hostilePod(c);
    const outcome = injector.inject({ pod });
    const findings = validator.validate(pod as never, 'default');
    const ms = performance.now() - started;
    const validatorCodes = findings.map((f) => f.code);
    if (outcome.kind === 'injected') return { name: c.name, kind: outcome.kind, strings: stringsOf(outcome.patch()), validatorCodes, ms };
    return { name: c.name, kind: outcome.kind, ...(outcome.kind === 'rejected' ? { message: outcome.message } : {}), validatorCodes, ms };
  });
}

describe('under the permission model: only the code is read', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  test('a child that may read dist/ and node_modules/ only injects and validates every case', () => {
    const script = `
      import { loadConfig } from ${JSON.stringify(path.join(root, 'dist/config/load.js'))};
      import { createInjector } from ${JSON.stringify(path.join(root, 'dist/inject/index.js'))};
      import { createValidator } from ${JSON.stringify(path.join(root, 'dist/validate/index.js'))};
      let input = '';
      process.stdin.setEncoding('utf8');
      for await (const chunk of process.stdin) input += chunk;
      const cases = JSON.parse(input);
      const config = loadConfig({});
      const injector = createInjector(config);
      const validator = createValidator(config);
      const stringsOf = (v, out = []) => { if (typeof v === 'string') out.push(v); else if (v && typeof v === 'object') for (const x of Object.values(v)) stringsOf(x, out); return out; };
      const results = cases.map(({ name, pod }) => {
        const started = performance.now();
        const outcome = injector.inject({ pod });
        const validatorCodes = validator.validate(pod, 'default').map((f) => f.code);
        const ms = performance.now() - started;
        return outcome.kind === 'injected'
          ? { name, kind: outcome.kind, strings: stringsOf(outcome.patch()), validatorCodes, ms }
          : { name, kind: outcome.kind, message: outcome.message, validatorCodes, ms };
      });
      process.stdout.write(JSON.stringify({ permission: process.permission.has('fs.read', '/etc/passwd'), results }));
    `;
    const cases = HOSTILE_CASES.map((c) => ({ name: c.name, pod: hostilePod(c) }));
    const child = childProcess.spawnSync(
      nodeBin,
      ['--permission', `--allow-fs-read=${path.join(root, 'dist')}`, `--allow-fs-read=${path.join(root, 'node_modules')}`, '--input-type=module', '-e', script],
      { cwd: root, encoding: 'utf8', input: JSON.stringify(cases), maxBuffer: 256 * 1024 * 1024, timeout: 60_000 },
    );
    expect(child.error).toBeUndefined();
    expect(child.stderr).not.toMatch(/ERR_ACCESS_DENIED/);
    expect(child.status, child.stderr).toBe(0);
    const { permission, results } = JSON.parse(child.stdout) as { permission: boolean; results: Result[] };
    expect(permission).toBe(false); // the permission model was on: /etc/passwd was not readable
    expect(results.map((r) => r.name)).toEqual(HOSTILE_CASES.map((c) => c.name));
    HOSTILE_CASES.forEach((c, i) => checkResult(c, results[i] as Result));
  });
});

describe('in process: no network, no file system, no processes', () => {
  test('every case, with net, tls, dns, http(s), fetch, fs and child_process throwing', () => {
    const attempts: string[] = [];
    const restore: (() => void)[] = [];
    const trap = (target: object, names: string[], label: string) => {
      for (const name of names) {
        const t = target as Record<string, unknown>;
        const original = t[name];
        if (typeof original !== 'function') continue;
        t[name] = (...args: unknown[]) => {
          attempts.push(`${label}.${name}(${JSON.stringify(args[0])?.slice(0, 80)})`);
          throw new Error(`${label}.${name} is not allowed while injecting`);
        };
        restore.push(() => (t[name] = original));
      }
    };
    trap(net, ['connect', 'createConnection', 'createServer'], 'net');
    trap(net.Socket.prototype, ['connect'], 'net.Socket');
    trap(tls, ['connect', 'createServer'], 'tls');
    trap(dns, ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveSrv', 'resolveTxt', 'reverse'], 'dns');
    trap(dns.promises, ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'reverse'], 'dns.promises');
    trap(http, ['request', 'get', 'createServer'], 'http');
    trap(https, ['request', 'get', 'createServer'], 'https');
    trap(globalThis, ['fetch'], 'globalThis');
    trap(fs, ['readFileSync', 'readFile', 'openSync', 'open', 'createReadStream', 'createWriteStream', 'writeFileSync', 'writeFile', 'statSync', 'stat', 'lstatSync', 'existsSync', 'readdirSync', 'readdir', 'readlinkSync', 'realpathSync', 'accessSync'], 'fs');
    trap(fs.promises, ['readFile', 'open', 'writeFile', 'stat', 'readdir', 'access'], 'fs.promises');
    trap(childProcess, ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'], 'child_process');
    syncBuiltinESMExports(); // ESM imports of these modules see the traps too
    let results: Result[];
    try {
      results = runCases();
    } finally {
      for (const r of restore.reverse()) r();
      syncBuiltinESMExports();
    }
    expect(attempts).toEqual([]);
    HOSTILE_CASES.forEach((c, i) => checkResult(c, results[i] as Result));
  });

  test('the traps work (control): a trapped fs.readFileSync throws', () => {
    const original = fs.readFileSync;
    (fs as { readFileSync: unknown }).readFileSync = () => {
      throw new Error('trapped');
    };
    syncBuiltinESMExports();
    try {
      expect(() => loadConfig({ configFile: '/etc/hostname' })).toThrow(/trapped/);
    } finally {
      (fs as { readFileSync: unknown }).readFileSync = original;
      syncBuiltinESMExports();
    }
  });
});

test('cases', () => {
  console.log(`annotations are data: ${HOSTILE_CASES.length} hostile annotation sets, ${HOSTILE_CASES.filter((c) => c.expect === 'rejected').length} refused`);
  expect(HOSTILE_CASES.length).toBeGreaterThanOrEqual(15);
});
