// Test-only preload for the fuzz test's spawned server (node --expose-gc --import this-file): a full garbage
// collection on SIGWINCH, so memory is sampled after a GC rather than whenever V8 last chose to collect.
// The server itself is unchanged; production never loads this.
process.on('SIGWINCH', () => {
  globalThis.gc?.();
  globalThis.gc?.();
});
