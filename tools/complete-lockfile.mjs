// Completes package-lock.json with the platform-specific optional packages the npm registry mirror on our
// machines does not serve (e.g. rollup's binaries for other platforms). npm drops them from the lock when it
// cannot resolve them, and `npm ci` then refuses the lock as out of sync. Listed as optional, they are skipped
// on platforms they do not match. Run after any `npm install`: node tools/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || !/^\d+\.\d+\.\d+/.test(spec)) continue;
    packages[key] = { version: spec, ...(meta.dev ? { dev: true } : {}), optional: true };
    added += 1;
  }
  void path;
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform package(s)`);
