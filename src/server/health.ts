/**
 * Event-loop health: how long requests have been waiting because the event loop was busy, for two uses.
 *
 * 1. **Deadlines** ({@link LoopMonitor.waitedMs}). The API server's `?timeout=` counts from when it started the call
 *    (connecting included). A request that arrives while the loop is blocked (one heavy admission, a GC pause, a
 *    stalled CPU) waits in the socket buffer; Node only sees it afterwards, so the time it arrived is unknown. The
 *    monitor's heartbeat (a timer every `intervalMs`) knows when the loop was last responsive: if the heartbeat is
 *    overdue, or fired late just before this request was read, the request may have waited since that last
 *    responsive moment; and the first request on a connection has waited at least since the connection was accepted
 *    (a client that connected during a stall waited for its TLS handshake too). The webhook counts its deadline from
 *    there (conservatively early), so a request that waited out its deadline in a stall is answered at once with the
 *    fast "deadline passed, retry" answer instead of a late patch nobody waits for (test/faults/under-load.test.ts).
 * 2. **Readiness** ({@link LoopMonitor.readinessProblem}). From the heartbeat's lateness, the monitor knows every
 *    stall of the last `windowMs` and how long it lasted. A request arriving during a stall of length L at offset x
 *    waits L − x, so the time during which an arriving request would have waited more than `thresholdMs` is
 *    Σ max(0, L − thresholdMs). When that is more than 1 % of the window (the p99 of the wait, weighted by time, is
 *    above the threshold), /readyz answers 503 with the reason, and the endpoint leaves the Service until the loop
 *    recovers (the readiness probe needs two failures in a row, so one short blip does not count). /healthz is not
 *    affected: restarting an overloaded webhook makes things worse; a loop stalled for good cannot answer /healthz,
 *    and the liveness probe's timeout catches that.
 * 3. **Load shedding** ({@link LoopMonitor.takeDelayMs}): the overload guard (src/server/overload.ts) steers by the
 *    largest event-loop delay since it last asked. One monitor serves all three.
 */
import type { Server, Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface LoopMonitorOptions {
  /** Heartbeat period, ms; default 20. */
  intervalMs?: number;
  /** Window of the readiness measure, ms; default 10,000. */
  windowMs?: number;
  /** Wait above which a request counts as delayed, ms; default 1,000. */
  thresholdMs?: number;
  /** Time-weighted quantile of the wait that must stay under `thresholdMs`; default 0.99. */
  quantile?: number;
}

export const DEFAULT_LOOP_MONITOR: Readonly<Required<LoopMonitorOptions>> = {
  intervalMs: 20,
  windowMs: 10_000,
  thresholdMs: 1_000,
  quantile: 0.99,
};

export interface LoopStats {
  /** Stalls (heartbeat later than one period) seen in the window. */
  stalls: number;
  /** Longest stall in the window, ms (including one still going on). */
  longestMs: number;
  /** Fraction of the window during which an arriving request would have waited more than the threshold. */
  delayedFraction: number;
}

export interface LoopMonitor {
  /**
   * How long a request read now may already have been waiting because of a busy loop, ms (0 when the loop has been
   * responsive). Call it when the request is first seen (onRequest).
   */
  lagMs(): number;
  /**
   * Record when `server` accepts each connection (lag included), so the first request on a connection counts from
   * then: a client that connected during a stall waited for the TLS handshake too (the API server's timeout covers
   * connecting).
   */
  watchConnections(server: Server): void;
  /**
   * How long the request on `socket` read now may have been waiting: {@link lagMs}, and for the first request on a
   * connection at least the time since the connection was accepted.
   */
  waitedMs(socket: Socket | undefined): number;
  /** Why the server should not be ready now, or undefined. */
  readinessProblem(): string | undefined;
  /**
   * The largest event-loop delay since the previous call, ms: the heartbeat's lateness (one still overdue included)
   * and, from the first call on, perf_hooks' event-loop delay histogram, which also sees blocks shorter than a period.
   */
  takeDelayMs(): number;
  stats(): LoopStats;
  close(): void;
}

interface Stall {
  /** When the heartbeat finally fired. */
  end: number;
  /** How long the loop did not run timers (ms). */
  length: number;
}

/** Start the heartbeat (an unref'd timer: it never keeps the process alive). */
export function startLoopMonitor(options: LoopMonitorOptions = {}): LoopMonitor {
  const { intervalMs, windowMs, thresholdMs, quantile } = { ...DEFAULT_LOOP_MONITOR, ...options };
  // Timers fire a little late even on an idle loop: lateness up to one period is not a stall.
  const tolerance = intervalMs;
  const stalls: Stall[] = [];
  let lastBeat = performance.now();
  let prevBeat = lastBeat;
  let lastLateness = 0;
  let latenessSinceTake = 0;
  /** The part of a stall takeDelayMs already reported while the heartbeat was overdue (not counted twice). */
  let reportedOverdue = 0;
  let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;

  const timer = setInterval(() => {
    const now = performance.now();
    const lateness = Math.max(0, now - lastBeat - intervalMs);
    prevBeat = lastBeat;
    lastBeat = now;
    lastLateness = lateness;
    latenessSinceTake = Math.max(latenessSinceTake, lateness - reportedOverdue);
    reportedOverdue = 0;
    if (lateness > tolerance) stalls.push({ end: now, length: lateness + intervalMs });
    while (stalls.length > 0 && stalls[0]!.end < now - windowMs) stalls.shift();
  }, intervalMs);
  timer.unref();

  const lagMs = (): number => {
    const now = performance.now();
    // The heartbeat is overdue: the loop has been busy since it last ran.
    if (now - lastBeat > intervalMs + tolerance) return now - lastBeat;
    // The heartbeat just ran late: this request was read right after a stall that began after the beat before.
    if (lastLateness > tolerance && now - lastBeat <= tolerance) return now - prevBeat;
    return 0;
  };

  const accepted = new WeakMap<Socket, number>();
  const seen = new WeakSet<Socket>();
  const watchConnections = (server: Server): void => {
    server.on('connection', (raw: Socket) => accepted.set(raw, performance.now() - lagMs()));
  };
  const waitedMs = (socket: Socket | undefined): number => {
    const lag = lagMs();
    if (socket === undefined || seen.has(socket)) return lag;
    seen.add(socket);
    // A TLS socket wraps the accepted TCP socket (its _parent).
    const raw = (socket as Socket & { _parent?: Socket })._parent ?? socket;
    const at = accepted.get(raw);
    return at === undefined ? lag : Math.max(lag, performance.now() - at);
  };

  const stats = (): LoopStats => {
    const now = performance.now();
    const recent = stalls.filter((s) => s.end >= now - windowMs);
    const ongoing = now - lastBeat > intervalMs + tolerance ? now - lastBeat : 0;
    const lengths = [...recent.map((s) => s.length), ...(ongoing > 0 ? [ongoing] : [])];
    const delayed = lengths.reduce((sum, l) => sum + Math.max(0, l - thresholdMs), 0);
    return { stalls: lengths.length, longestMs: Math.round(Math.max(0, ...lengths)), delayedFraction: delayed / windowMs };
  };

  return {
    lagMs,
    watchConnections,
    waitedMs,
    stats,
    readinessProblem() {
      const s = stats();
      if (s.delayedFraction <= 1 - quantile) return undefined;
      const percent = Math.round(s.delayedFraction * 1000) / 10;
      return `event loop overloaded: requests would have waited over ${thresholdMs} ms during ${percent}% of the last ${windowMs / 1000}s (longest stall ${s.longestMs} ms)`;
    },
    takeDelayMs() {
      if (histogram === undefined) {
        histogram = monitorEventLoopDelay({ resolution: 10 });
        histogram.enable();
      }
      const overdue = Math.max(0, performance.now() - lastBeat - intervalMs);
      const delay = Math.max(latenessSinceTake, overdue, histogram.count > 0 ? histogram.max / 1e6 : 0);
      latenessSinceTake = 0;
      reportedOverdue = overdue;
      histogram.reset();
      return delay;
    },
    close() {
      clearInterval(timer);
      histogram?.disable();
    },
  };
}
