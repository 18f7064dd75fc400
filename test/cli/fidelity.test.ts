/**
 * The built CLI (`mesh-webhook inject`) on the rules ported from Istio's code for issue 12, with the same cases as
 * their webhook tests in test/inject: OTEL_RESOURCE_ATTRIBUTES (otelResourceAttributes.rows.ts), image types
 * (proxyImage.rows.ts), userVolume/userVolumeMount lists (userVolumes.cases.ts) and text values in `--set` and YAML
 * files (textValues.cases.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { Pod } from '../../src/k8s/types.js';
import { ensureBuilt } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import * as otel from '../inject/otelResourceAttributes.rows.js';
import * as images from '../inject/proxyImage.rows.js';
import { appPod, container } from '../inject/review.js';
import { checkText, TEXT_SETS } from '../inject/textValues.cases.js';
import * as volumes from '../inject/userVolumes.cases.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-fidelity-'));
beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
/** `mesh-webhook inject -f <pod> <args>`. */
function inject(pod: Pod, args: string[]) {
  const f = join(dir, `pod${++count}.json`);
  writeFileSync(f, JSON.stringify(pod));
  return runCli(['inject', '-f', f, ...args]);
}

function injected(pod: Pod, args: string[]): Pod {
  const r = inject(pod, args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return parseAllDocuments(r.stdout)[0]!.toJS() as Pod;
}

describe('OTEL_RESOURCE_ATTRIBUTES', () => {
  for (const row of otel.ROWS) {
    it(row.name, () => {
      const pod = otel.podOf(row);
      if (row.namespace) pod.metadata!.namespace = row.namespace;
      const out = injected(pod, ['--profile', 'istio', ...(row.set ? ['--set', row.set] : [])]);
      expect(otel.envOf(container(out, 'istio-proxy'))).toBe(row.want);
    });
  }
});

describe('proxy and istio-init images by image type', () => {
  for (const row of images.ROWS) {
    it(row.desc, () => {
      images.check(injected(images.podOf(row), ['--profile', 'istio', ...images.sets(row).flatMap((s) => ['--set', s])]), row);
    });
  }
});

describe('userVolume / userVolumeMount', () => {
  for (const c of volumes.ACCEPTED) {
    it(c.name, () => {
      volumes.check(injected(appPod({ annotations: c.annotations }), ['--profile', 'istio']), c);
    });
  }
  it('JSON null adds no volume and no mount', () => {
    const plain = injected(appPod(), ['--profile', 'istio']);
    const out = injected(appPod({ annotations: volumes.NULL_VALUES }), ['--profile', 'istio']);
    expect(out.spec?.volumes).toEqual(plain.spec?.volumes);
    expect(container(out, 'istio-proxy')?.volumeMounts).toEqual(container(plain, 'istio-proxy')?.volumeMounts);
  });
  for (const [name, annotations, message] of volumes.REFUSED) {
    it(`refused: ${name}`, () => {
      const r = inject(appPod({ annotations }), ['--profile', 'istio']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
    });
  }
  it('refused by safety (kyma): a hostPath in a list', () => {
    const r = inject(appPod({ annotations: volumes.HOST_PATH_LIST }), []);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(volumes.HOST_PATH_MESSAGE);
  });
});

describe('text values', () => {
  it('--set keeps the text of text fields (tag 1.30, cpu 0.50, proxyMetadata true)', () => {
    checkText(injected(appPod(), ['--profile', 'istio', ...TEXT_SETS.flatMap((s) => ['--set', s])]));
  });

  it('inject --help says so', () => {
    const r = runCli(['inject', '--help']);
    expect(r.stdout).toContain('text\n                                fields keep VALUE as written (values.global.tag=1.30 is the tag 1.30)');
  });

  it('an unquoted YAML 1.30 for the tag is refused, advising "1.30"', () => {
    const values = join(dir, 'values.yaml');
    writeFileSync(values, 'global:\n  tag: 1.30\n');
    const r = inject(appPod(), ['--profile', 'istio', '--values', values]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: config values.global.tag: in values file ${values}: must be text, but YAML reads 1.30 as the number 1.3; quote it as written: "1.30"\n`);
  });
});
