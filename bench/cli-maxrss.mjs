// Preloaded by bench/cli-scale.mjs (`node --import ./bench/cli-maxrss.mjs dist/cli/main.js ...`): at exit, the
// process's peak resident set (getrusage ru_maxrss, the kernel's VmHWM, in KiB) is added as a line to the file named
// by MESH_BENCH_MAXRSS, so the peak is exact even when the process ends between two samples of /proc. A CLI that runs
// itself again (src/cli/youngGeneration.ts) passes the preload on: each process adds its line, the runner takes the
// largest.
import { appendFileSync } from 'node:fs';

const target = process.env.MESH_BENCH_MAXRSS;
if (target) {
  process.on('exit', () => {
    appendFileSync(target, `${process.resourceUsage().maxRSS}\n`);
  });
}
