// CPU and memory of a process from /proc/<pid>/stat and /proc/<pid>/status (Linux), sampled while a run lasts.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 on every Linux we run on
}

/** CPU seconds (user + system) and memory (KiB) of `pid` now; undefined when the process is gone. */
export function readProc(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: the fields after it start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuS: (utime + stime) / ticksPerSecond, userS: utime / ticksPerSecond, systemS: stime / ticksPerSecond, rssKiB: kib('VmRSS'), anonKiB: kib('RssAnon'), hwmKiB: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * Sample `pid` every `intervalMs` until stop(): CPU used over the interval (and as % of one core), the largest and
 * the last RSS seen, in MiB.
 */
export function sampleProcess(pid, intervalMs = 100) {
  const t0 = performance.now();
  const first = readProc(pid);
  let rssMax = first?.rssKiB ?? 0;
  // Anonymous memory (heap, buffers): RSS without the file-backed pages (the node binary, ~50 MiB, shared and
  // reclaimable).
  let anonMax = first?.anonKiB ?? 0;
  let last = first;
  const timer = setInterval(() => {
    const now = readProc(pid);
    if (!now) return;
    last = now;
    if (now.rssKiB > rssMax) rssMax = now.rssKiB;
    if (now.anonKiB > anonMax) anonMax = now.anonKiB;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const end = readProc(pid) ?? last;
      if (end && end.rssKiB > rssMax) rssMax = end.rssKiB;
      if (end && end.anonKiB > anonMax) anonMax = end.anonKiB;
      const wallS = (performance.now() - t0) / 1000;
      const cpuS = first && end ? end.cpuS - first.cpuS : NaN;
      return {
        wallS,
        cpuS,
        cpuPct: (100 * cpuS) / wallS,
        userS: first && end ? end.userS - first.userS : NaN,
        systemS: first && end ? end.systemS - first.systemS : NaN,
        rssMaxMiB: rssMax / 1024,
        anonMaxMiB: anonMax / 1024,
        rssEndMiB: (end?.rssKiB ?? NaN) / 1024,
      };
    },
  };
}

/** Busy and total CPU time of the whole machine (all CPUs), in seconds, from /proc/stat. */
export function readMachine() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const idle = v[3] + v[4];
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busyS: (total - idle) / ticksPerSecond, totalS: total / ticksPerSecond };
}
