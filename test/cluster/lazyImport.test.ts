/**
 * @kubernetes/client-node costs ~70 MB and ~1 s at import: only connectCluster() may load it (dynamic import), every
 * other mention must be `import type`. A static check over src/ (a value import anywhere would load it at start-up).
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(p)));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('@kubernetes/client-node is loaded lazily', () => {
  it('is imported as a value only by connectCluster', async () => {
    const offenders: string[] = [];
    const dynamic: string[] = [];
    for (const file of await sources(path.resolve('src'))) {
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+'@kubernetes\/client-node'/gm)) {
        if (!m[2]) offenders.push(`${path.relative('.', file)}: ${m[0].trim()}`);
      }
      if (/import\(\s*'@kubernetes\/client-node'\s*\)/.test(text)) dynamic.push(path.relative('.', file));
    }
    expect(offenders).toEqual([]);
    expect(dynamic).toEqual([path.join('src', 'cluster', 'client.ts')]);
  });
});
