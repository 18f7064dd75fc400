/**
 * The container image recipe (no Docker engine runs here, so it is checked as text): multi-stage, production
 * dependencies only, distroless Node 24, non-root, the CLI as entry point.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const stages = dockerfile.split('\n').filter((l) => l.startsWith('FROM '));
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

describe('Dockerfile', () => {
  it('builds on Node 24 and runs on distroless Node 24 as a non-root user', () => {
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/^FROM node:24[-\w.]* AS build$/);
    expect(stages[1]).toMatch(/^FROM gcr\.io\/distroless\/nodejs24-debian12:nonroot$/);
    expect(runtime).toMatch(/\nUSER 65532:65532\n/);
    expect(runtime).not.toMatch(/\nRUN /); // distroless has no shell
  });

  it('ships production dependencies and the built CLI only', () => {
    expect(dockerfile).toContain('npm prune --omit=dev');
    expect(runtime).toContain('COPY --from=build /src/dist ./dist');
    expect(runtime).not.toMatch(/COPY (src|test|bench)/);
    expect(runtime).toContain('ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "dist/cli/main.js"]');
    expect(runtime).toContain('CMD ["serve"]');
  });
});
