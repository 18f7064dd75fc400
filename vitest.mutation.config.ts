/**
 * Vitest configuration for mutation testing (`npm run test:mutation`, stryker.config.mjs): only the fast, in-process
 * test files that exercise the mutated code (src/inject, src/server, src/validate). Left out, because Stryker runs
 * the covering tests once per mutant:
 * - files that spawn processes of the built CLI (dist/ is not the mutated code, and a process per test is slow): the
 *   full conformance suite (its webhook half runs here as test/inject/conformanceWebhook.test.ts), test/cli/cli,
 *   test/validate/{cli,rules}, test/operations/{explain,explainQuoting,monitoring,outdated,shellQuote},
 *   test/security/annotations, test/server/{serve,serve-overload}, test/shutdown/sigterm, test/fuzz, test/faults
 *   (under-load), test/certs/makeCerts;
 * - files that take more than ~10 s or depend on real time (event-loop stalls, slow clients, paused uploads):
 *   test/faults/loop, test/security/timeouts, test/server/early-answer;
 * - files about other directories (certs, cluster, config, reload, manifests, k8s double, CLI arguments);
 * - test/operations/metrics.test.ts: it sends its requests in `beforeAll`, and code run by a hook is "static" for
 *   Stryker's per-test coverage (it cannot tell which test needs it), so every mutant those requests reach — nearly all
 *   of src/inject and the request path of src/server — would run against every test: on src/inject/patch.ts, 91 % of
 *   the mutants were static and 151 tests ran per mutant with it; none static and 30 tests per mutant without. Its
 *   metrics are covered here by
 *   test/operations/histogramBuckets.test.ts and the deadline/server tests. New tests: do the work inside `it`.
 * test/inject is included whole (its files are in-process by convention); elsewhere new fast in-process files that
 * exercise the mutated code are added to the list by hand.
 *
 * `MUTATION_TESTS` (comma-separated globs) narrows the files further for a small-scope run, e.g.
 * `MUTATION_TESTS='test/inject/**' npx stryker run --mutate src/inject/patch.ts`.
 */
import { defineConfig } from 'vitest/config';

export const MUTATION_TEST_FILES = [
  // src/inject: every file of test/inject (all in process, through the HTTPS webhook or createInjector)
  'test/inject/**/*.test.ts',
  'test/cli/kubeInject.test.ts',
  'test/security/pollution.test.ts',
  'test/security/pss.test.ts',
  // src/server
  'test/server/params.test.ts',
  'test/server/deadline.test.ts',
  'test/server/review.test.ts',
  'test/server/server.test.ts',
  'test/server/overload.test.ts',
  'test/server/shutdown.test.ts',
  'test/server/routes.test.ts',
  'test/server/connections.test.ts',
  'test/server/limits.test.ts',
  'test/server/jsonTokens.test.ts',
  'test/security/tls.test.ts',
  'test/operations/histogramBuckets.test.ts',
  'test/operations/logs.test.ts',
  // src/validate
  'test/validate/edges.test.ts',
  'test/validate/endpoint.test.ts',
  'test/validate/reservedPorts.test.ts',
  'test/validate/readme.test.ts',
];

const narrowed = process.env.MUTATION_TESTS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);

export default defineConfig({
  test: {
    include: narrowed && narrowed.length > 0 ? narrowed : MUTATION_TEST_FILES,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
