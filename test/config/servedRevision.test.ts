/**
 * The served revision (`servedRevision`, `--revision NAME`): which revision's webhook selectors the injector answers
 * for. A Kubernetes label value, not empty; absent by default; every source (file, --set, the flag) checked the same
 * way, each refusal one line naming the key or flag and what to write.
 */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/parse.js';
import { loadConfig } from '../../src/config/load.js';
import { loadError, yamlFiles } from './helpers.js';

const file = yamlFiles('served-revision');

/** The usage error of a command line (fails when it parses). */
function usageError(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('servedRevision', () => {
  it('is absent unless written: the injector serves values.revision', () => {
    expect(loadConfig().servedRevision).toBeUndefined();
    expect(loadConfig({ profile: 'kyma-module' }).servedRevision).toBeUndefined();
    expect(loadConfig({ profile: 'istio' }).servedRevision).toBeUndefined();
  });

  it('comes from the config file, --set, or the option --revision sets, the option winning', () => {
    const configFile = file('servedRevision: mesh-webhook\n');
    expect(loadConfig({ configFile }).servedRevision).toBe('mesh-webhook');
    expect(loadConfig({ sets: ['servedRevision=canary-1.30'] }).servedRevision).toBe('canary-1.30');
    expect(loadConfig({ configFile, servedRevision: 'other' }).servedRevision).toBe('other');
    expect(loadConfig({ configFile, sets: ['servedRevision=from-set'], servedRevision: 'flag' }).servedRevision).toBe('flag');
  });

  it('is text as written: --set servedRevision=130 is the name "130"', () => {
    expect(loadConfig({ sets: ['servedRevision=130'] }).servedRevision).toBe('130');
  });

  it('does not change values.revision (what the sidecar is rendered for)', () => {
    const config = loadConfig({ servedRevision: 'mesh-webhook', sets: ['values.revision=1-30'] });
    expect(config.servedRevision).toBe('mesh-webhook');
    expect(config.values.revision).toBe('1-30');
  });

  it.each([
    ['empty', { servedRevision: '' }, 'config servedRevision: must be a revision name (not empty); got "" (without the key, values.revision is served)'],
    [
      'a space',
      { servedRevision: 'mesh webhook' },
      'config servedRevision: must be a revision name, as a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit; got "mesh webhook"',
    ],
    ['a slash (a label key, not a value)', { sets: ['servedRevision=istio.io/rev'] }, 'config servedRevision: must be a revision name, as a Kubernetes label value'],
    ['ending with "-"', { servedRevision: 'canary-' }, 'got "canary-"'],
    ['64 characters', { servedRevision: 'a'.repeat(64) }, `got "${'a'.repeat(64)}"`],
    ['null from --set', { sets: ['servedRevision=null'] }, 'config servedRevision: must be a revision name, as a Kubernetes label value'],
    ['a list in the file', { configFile: file('servedRevision: [a]\n') }, 'config servedRevision: must be a revision name'],
    ['an unquoted number in the file', { configFile: file('servedRevision: 1.30\n') }, 'config servedRevision: in config file'],
  ])('refuses %s', (_, opts, message) => {
    expect(loadError(opts)).toContain(message);
  });

  it('an unquoted number in the file is refused with the quoting that keeps it', () => {
    expect(loadError({ configFile: file('servedRevision: 1.30\n') })).toMatch(/must be text, but YAML reads 1\.30 as the number 1\.3; quote it as written: "1\.30"$/);
  });

  it('takes 63 characters', () => {
    expect(loadConfig({ servedRevision: `a${'-'.repeat(61)}z` }).servedRevision).toHaveLength(63);
  });
});

describe('--revision NAME', () => {
  it('is a config flag of every command but inject', () => {
    for (const argv of [
      ['validate', '-f', 'x.yaml', '--revision', 'mesh-webhook'],
      ['explain', '-f', 'x.yaml', '--revision', 'mesh-webhook'],
      ['outdated', '--revision', 'mesh-webhook'],
      ['serve', '--revision', 'mesh-webhook'],
    ]) {
      const inv = parseCommandLine(argv);
      expect('args' in inv && (inv.args as { config: { servedRevision?: string } }).config.servedRevision, argv.join(' ')).toBe('mesh-webhook');
    }
  });

  it.each([
    [['validate', '-f', 'x', '--revision', ''], '--revision must be a revision name (not empty); got ""'],
    [['serve', '--revision', 'Mesh Webhook'], '--revision must be a revision name, as a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit; got "Mesh Webhook"'],
    [['explain', '-f', 'x', '--revision', 'istio.io/rev=mesh-webhook'], 'got "istio.io/rev=mesh-webhook"'],
  ])('%j is a usage error naming the flag', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });

  it('inject refuses it: offline injection has no webhook selectors, it would skip every pod', () => {
    expect(usageError(['inject', '-f', 'x.yaml', '--revision', 'canary'])).toContain(
      'inject has no webhook selectors. To render for an istiod revision, as istioctl kube-inject --revision does, give that revision\'s configuration (--valuesFile of istio-sidecar-injector-canary, or --set values.revision=canary)',
    );
  });

  it('--revision without a value is a usage error', () => {
    expect(usageError(['inject', '-f', 'x', '--revision'])).toContain("Option '--revision <value>' argument missing");
  });
});
