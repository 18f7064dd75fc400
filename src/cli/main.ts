#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/types.js';
import { ManifestError } from '../workloads/kubeInject.js';
import { parseCommandLine, UsageError, type Invocation } from './args.js';
import { USAGE } from './usage.js';
import { EXIT, InputError } from './errors.js';
import { checkNamedFiles, namedFiles } from './inputFiles.js';
import { relaunchWithSmallYoungGeneration, wantsSmallYoungGeneration } from './youngGeneration.js';

/** Exit codes: see {@link EXIT}. */
async function main(argv: readonly string[]): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${USAGE[err.command ?? 'main']}\n`);
    return EXIT.usage;
  }
  try {
    checkNamedFiles(namedFiles(invocation));
    if (wantsSmallYoungGeneration(invocation)) {
      const code = await relaunchWithSmallYoungGeneration();
      if (code !== undefined) return code;
    }
    switch (invocation.command) {
      case 'help':
        process.stdout.write(`${USAGE[invocation.topic ?? 'main']}\n`);
        return 0;
      case 'version':
        process.stdout.write(`${version()}\n`);
        return 0;
      case 'inject':
        await (await import('./inject.js')).runInject(invocation.args);
        return 0;
      case 'validate':
        // 1 when the manifests have errors (the pipeline fails), 0 otherwise.
        return await (await import('./validate.js')).runValidate(invocation.args);
      case 'explain':
        return await (await import('./explain.js')).runExplain(invocation.args);
      case 'outdated':
        return await (await import('./outdated.js')).runOutdated(invocation.args);
      case 'serve':
        // Loaded only here: the server stack (fastify, TLS) is not needed for offline injection.
        await (await import('./serve.js')).runServe(invocation.args);
        return 0;
    }
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    // Our own errors carry everything the operator needs; anything else may be a bug, so show where it came from.
    const expected = err instanceof ConfigError || err instanceof ManifestError || err instanceof InputError;
    if (!expected) process.stderr.write(`${err.stack ?? ''}\n`);
    return err instanceof InputError ? err.exitCode : EXIT.failed;
  }
}

function version(): string {
  // dist/cli/main.js and src/cli/main.ts both sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.internal;
  },
);
