/**
 * The container image recipe (no Docker engine runs here, so it is checked as text): multi-stage, production
 * dependencies only, distroless Node 24, non-root, base images pinned by digest, the CLI as entry point listening on
 * all interfaces.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.js';

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const stages = dockerfile.split('\n').filter((l) => /^FROM\s/i.test(l));
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

/** `FROM image:tag@sha256:<64 hex> [AS name]`: the tag stays readable, the digest decides. */
const PINNED = /^FROM (\S+):([\w.-]+)@sha256:([0-9a-f]{64})(?: AS \w+)?$/;

describe('Dockerfile', () => {
  it('builds on Node 24 and runs on distroless Node 24 as a non-root user', () => {
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/^FROM node:24-bookworm-slim@sha256:[0-9a-f]{64} AS build$/);
    expect(stages[1]).toMatch(/^FROM gcr\.io\/distroless\/nodejs24-debian12:nonroot@sha256:[0-9a-f]{64}$/);
    expect(runtime).toMatch(/\nUSER 65532:65532\n/);
    expect(runtime).not.toMatch(/\nRUN /); // distroless has no shell
  });

  it('pins every base image by a sha256 digest and keeps the tag', () => {
    expect(stages.length).toBeGreaterThan(0);
    for (const line of stages) {
      const m = PINNED.exec(line);
      expect(m, `${line}: FROM image:tag@sha256:<64 hex digits>`).not.toBeNull();
    }
    // The pins themselves (docs/security.md, "Supply chain", says where each came from and how to update); a change is deliberate.
    expect(stages.map((l) => PINNED.exec(l)?.[3])).toEqual([
      '0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6',
      '14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a',
    ]);
    // The comment above them says how to update them.
    expect(dockerfile).toMatch(/docker buildx imagetools inspect node:24-bookworm-slim/);
    expect(dockerfile).toMatch(/crane digest/);
  });

  it('the pin check rejects unpinned, tag-less and short digests', () => {
    expect(PINNED.test('FROM node:24-bookworm-slim AS build')).toBe(false);
    expect(PINNED.test('FROM node@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6')).toBe(false);
    expect(PINNED.test('FROM node:24-bookworm-slim@sha256:0e0ff40c39bc AS build')).toBe(false);
    expect(PINNED.test('FROM node:24@sha256:0E0FF40C39BC087845BFB27465A0DF4EA419520094BC35842FF83DD8CBE6F9B6')).toBe(false);
  });

  it('ships production dependencies and the built CLI only', () => {
    expect(dockerfile).toContain('npm prune --omit=dev');
    expect(runtime).toContain('COPY --from=build /src/dist ./dist');
    expect(runtime).not.toMatch(/COPY (src|test|bench)/);
    expect(runtime).toContain('ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "dist/cli/main.js"]');
  });

  it('serves on all interfaces by default (the CLI defaults to 127.0.0.1)', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(runtime);
    expect(cmd, 'a CMD in exec form').not.toBeNull();
    const args = JSON.parse(cmd![1]!) as string[];
    expect(args).toEqual(['serve', '--host', '0.0.0.0', '--metrics-host', '0.0.0.0']);
    const invocation = parseCommandLine(args);
    expect(invocation).toMatchObject({ command: 'serve', args: { host: '0.0.0.0', metricsHost: '0.0.0.0' } });
  });
});
