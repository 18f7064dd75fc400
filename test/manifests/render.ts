/**
 * Rendering the kustomize tree for the manifest tests: `kubectl kustomize DIR`, parsed into plain objects. Shared by
 * manifests.test.ts, admission-policy.test.ts and network-policy.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MANIFESTS_DIR = join(ROOT, 'manifests');
export const OVERLAYS_DIR = join(MANIFESTS_DIR, 'overlays');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** `kubectl kustomize dir` as objects; `what` names it in errors. Fails on any stderr output (kustomize warnings). */
export function renderDir(dir: string, what = relative(ROOT, dir)): Obj[] {
  const result = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', timeout: 30_000 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      `"${KUBECTL}" was not found: these tests render the manifests with \`kubectl kustomize\` (kubectl >= 1.27 ` +
        `with kustomize v5). Install kubectl or point the KUBECTL environment variable at it.`,
    );
  }
  if (result.error || result.status !== 0) {
    throw new Error(`kubectl kustomize ${what} failed:\n${result.stderr || result.error?.message}`);
  }
  // kustomize warns on stderr about deprecated fields; the manifests use none.
  if (result.stderr.trim() !== '') throw new Error(`kubectl kustomize ${what} warned:\n${result.stderr}`);
  const objs: Obj[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) throw new Error(`${what}: YAML error: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value !== null) objs.push(value as Obj);
  }
  return objs;
}

/** One of manifests/overlays. */
export function renderOverlay(overlay: string): Obj[] {
  return renderDir(join(OVERLAYS_DIR, overlay), `manifests/overlays/${overlay}`);
}

/**
 * A throw-away kustomization with `resources` and `components` (paths relative to manifests/), rendered: how an
 * operator's own overlay would combine them. kustomize only accepts relative paths, so they are made relative to the
 * temporary directory.
 */
export function renderComposition(resources: string[], components: string[]): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-kustomization-'));
  try {
    const rel = (p: string) => relative(dir, join(MANIFESTS_DIR, p));
    const text = [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      ...resources.map((r) => `  - ${rel(r)}`),
      ...(components.length > 0 ? ['components:', ...components.map((c) => `  - ${rel(c)}`)] : []),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'kustomization.yaml'), text);
    return renderDir(dir, `resources [${resources.join(', ')}] + components [${components.join(', ')}]`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
