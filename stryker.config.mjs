// Mutation testing with StrykerJS (`npm run test:mutation`): not part of `npm test` or CI (hours on 2 CPUs).
// See test/README.md, "Mutation testing".
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: {
    // The fast, in-process test files only (see the comment at the top of that file).
    configFile: 'vitest.mutation.config.ts',
    // Same pool as the normal suite (some tests signal their own process or need a process of their own).
    pool: 'forks',
  },
  // TypeScript sources: Stryker mutates them, Vitest transforms them (no build, no type-check step needed).
  // The injector, the HTTP edge and the validator, and the defences against hostile bodies that run before them.
  mutate: ['src/inject/**/*.ts', 'src/server/**/*.ts', 'src/validate/**/*.ts', 'src/admission/limits.ts', 'src/admission/identity.ts', 'src/util/jsonTokens.ts'],
  // Run only the tests that cover a mutant, for each mutant.
  coverageAnalysis: 'perTest',
  // Re-use the results of mutants whose code and covering tests did not change since the last run.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  // One worker by default (the CPUs are shared); `npx stryker run --concurrency 2` to use more.
  concurrency: 1,
  // Report, never fail the run on the score.
  thresholds: { high: 80, low: 60, break: null },
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // The sandbox does not need the build output or the benchmarks.
  ignorePatterns: ['dist', 'bench', '.dev-certs', '*.cpuprofile', 'reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  timeoutMS: 10_000,
};
