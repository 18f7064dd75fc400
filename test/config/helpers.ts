/** Shared by the configuration tests: YAML files in a temporary directory, and the message of a refused load. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';

/** A temporary directory removed after the file's tests; `file(text)` writes the next YAML file into it. */
export function yamlFiles(prefix: string): (text: string) => string {
  const dir = mkdtempSync(join(tmpdir(), `mesh-webhook-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  return (text: string) => {
    const path = join(dir, `f${++count}.yaml`);
    writeFileSync(path, text);
    return path;
  };
}

/** The message of the ConfigError that loading with `opts` throws (fails when it loads or throws something else). */
export function loadError(opts: LoadConfigOptions): string {
  try {
    loadConfig(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}
