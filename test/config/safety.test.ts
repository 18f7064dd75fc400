/**
 * The `safety` settings: defaults per profile (on in kyma, Istio's behaviour in istio), what a bad value gives (a
 * ConfigError naming the key), and how a config file, `--set` and the built CLI change them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { profileConfig } from '../../src/config/profiles.js';
import { ConfigError } from '../../src/config/types.js';
import { validateConfig } from '../../src/config/validate.js';
import { ensureBuilt } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';

const KYMA_ENV = [
  'LD_*', 'GCONV_PATH', 'GETCONF_DIR', 'GLIBC_TUNABLES', 'HOSTALIASES', 'LOCALDOMAIN', 'LOCPATH', 'MALLOC_TRACE', 'NIS_PATH', 'NLSPATH',
  'RESOLV_HOST_CONF', 'RES_OPTIONS', 'TMPDIR', 'TZDIR',
  'POD_NAME', 'POD_NAMESPACE', 'SERVICE_ACCOUNT', 'INSTANCE_IP', 'TRUST_DOMAIN', 'ISTIO_META_CLUSTER_ID', 'ISTIO_META_MESH_ID', 'ISTIO_META_CERT_SIGNER',
  'CA_ADDR', 'CA_PROVIDER', 'PILOT_CERT_PROVIDER', 'XDS_ROOT_CA', 'CA_ROOT_CA', 'ISTIOD_SAN', 'XDS_AUTH_PROVIDER', 'JWT_POLICY', 'CREDENTIAL_FETCHER_TYPE',
  'CREDENTIAL_IDENTITY_PROVIDER', 'PROV_CERT', 'FILE_MOUNTED_CERTS', 'OUTPUT_CERTS', 'WORKLOAD_IDENTITY_SOCKET_FILE', 'PROXY_CONFIG',
  'PROXY_UID', 'PROXY_GID', 'NETWORK_NAMESPACE', 'CNI_MODE',
];

describe('defaults', () => {
  it('kyma: every limit on', () => {
    expect(profileConfig('kyma').safety).toEqual({
      allowedProxyImagePrefixes: [],
      forbiddenUserVolumeTypes: ['hostPath'],
      limitInjectedPrivileges: true,
      lockInjectedCommands: true,
      forbiddenInjectedEnv: KYMA_ENV,
      stripOnlyInjectedContainers: true,
    });
  });

  it("istio: Istio's behaviour", () => {
    expect(profileConfig('istio').safety).toEqual({
      allowedProxyImagePrefixes: ['*'],
      forbiddenUserVolumeTypes: [],
      limitInjectedPrivileges: false,
      lockInjectedCommands: false,
      forbiddenInjectedEnv: [],
      stripOnlyInjectedContainers: false,
    });
  });
});

function errorOf(safety: Record<string, unknown>): ConfigError {
  try {
    validateConfig({ ...profileConfig('kyma'), safety });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected validateConfig to fail');
}

describe('bad values: a ConfigError naming the key', () => {
  const base = () => ({ ...profileConfig('kyma').safety }) as Record<string, unknown>;
  it.each([
    ['limitInjectedPrivileges', 'yes', 'config safety.limitInjectedPrivileges: must be true or false; got "yes"'],
    ['lockInjectedCommands', 1, 'config safety.lockInjectedCommands: must be true or false; got number 1'],
    ['stripOnlyInjectedContainers', null, 'config safety.stripOnlyInjectedContainers: must be true or false; got null'],
    ['forbiddenInjectedEnv', 'LD_PRELOAD', 'config safety.forbiddenInjectedEnv: must be a list of strings; got "LD_PRELOAD"'],
    ['forbiddenInjectedEnv', ['LD_PRELOAD', 7], 'config safety.forbiddenInjectedEnv[1]: must be a string; got number 7'],
    [
      'forbiddenInjectedEnv',
      ['LD_PRELOAD', 'A=B'],
      'config safety.forbiddenInjectedEnv[1]: must be an environment variable name (no "=", spaces or control characters), or a prefix ending in "*" such as "LD_*"; got "A=B"',
    ],
    [
      'forbiddenInjectedEnv',
      ['*LD'],
      'config safety.forbiddenInjectedEnv[0]: must be an environment variable name (no "=", spaces or control characters), or a prefix ending in "*" such as "LD_*"; got "*LD"',
    ],
    [
      'forbiddenInjectedEnv',
      [''],
      'config safety.forbiddenInjectedEnv[0]: must be an environment variable name (no "=", spaces or control characters), or a prefix ending in "*" such as "LD_*"; got ""',
    ],
  ])('%s = %j', (key, value, message) => {
    const err = errorOf({ ...base(), [key]: value });
    expect(err.message).toBe(message);
    expect(err.path).toBe(message.slice('config '.length, message.indexOf(':')));
  });

  it('a missing key, an unknown key', () => {
    const { lockInjectedCommands: _drop, ...missing } = base();
    expect(errorOf(missing).message).toBe('config safety.lockInjectedCommands: is missing');
    expect(errorOf({ ...base(), limitPrivileges: true }).message).toBe(
      'config safety.limitPrivileges: must be absent: the keys are allowedProxyImagePrefixes, forbiddenUserVolumeTypes, limitInjectedPrivileges, lockInjectedCommands, forbiddenInjectedEnv, stripOnlyInjectedContainers; got "limitPrivileges"',
    );
  });
});

describe('changing them', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-safety-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a config file sets some keys: the profile keeps the others', () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'safety:\n  limitInjectedPrivileges: false\n  forbiddenInjectedEnv: [LD_PRELOAD]\n');
    expect(loadConfig({ configFile: file }).safety).toEqual({
      allowedProxyImagePrefixes: [],
      forbiddenUserVolumeTypes: ['hostPath'],
      limitInjectedPrivileges: false,
      lockInjectedCommands: true,
      forbiddenInjectedEnv: ['LD_PRELOAD'],
      stripOnlyInjectedContainers: true,
    });
  });

  it('a config file with a bad value: the error names the key', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'safety:\n  lockInjectedCommands: "off"\n');
    expect(() => loadConfig({ configFile: file })).toThrow('config safety.lockInjectedCommands: must be true or false; got "off"');
  });

  it('--set', () => {
    expect(loadConfig({ sets: ['safety.stripOnlyInjectedContainers=false', 'safety.forbiddenInjectedEnv=["LD_*"]'] }).safety).toMatchObject({
      stripOnlyInjectedContainers: false,
      forbiddenInjectedEnv: ['LD_*'],
    });
    expect(() => loadConfig({ sets: ['safety.limitInjectedPrivileges=maybe'] })).toThrow('config safety.limitInjectedPrivileges: must be true or false; got "maybe"');
  });

  it('the built CLI: one line naming the key, exit code 1 (as any invalid configuration), no stack', () => {
    ensureBuilt();
    const file = join(dir, 'pod.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec: {containers: [{name: app, image: x}]}\n');
    const run = runCli(['validate', '-f', file, '--set', 'safety.lockInjectedCommands=1']);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toBe('error: config safety.lockInjectedCommands: must be true or false; got number 1\n');
    expect(run.status).toBe(1);
  });
});
