// Preloaded by bench/cli-scale.mjs (`node --import ./bench/cli-maxrss.mjs dist/cli/main.js ...`): at exit, the
// process's peak resident set (getrusage ru_maxrss, the kernel's VmHWM, in KiB) is written to the file named by
// MESH_BENCH_MAXRSS, so the peak is exact even when the process ends between two samples of /proc.
import { writeFileSync } from 'node:fs';

const target = process.env.MESH_BENCH_MAXRSS;
if (target) {
  process.on('exit', () => {
    writeFileSync(target, `${process.resourceUsage().maxRSS}\n`);
  });
}
